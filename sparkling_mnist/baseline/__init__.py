"""The baseline stages: the raw-pixel H2O deep-learning classifier (`classifier`), the
figure every later stage must beat, and the same classifier on the autoencoder features
(`features_classifier`), the recipe's claim measured.
"""
