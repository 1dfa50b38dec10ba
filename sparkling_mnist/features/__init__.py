"""The features stage: H2O deep-learning autoencoders (`autoencoders`, or trained by
torch: `torch_training`), stacked as configured, their hidden layers joined into the
feature table (`stage`), and the deep features of the augmented rows computed by numpy
on the executors (`augmented`).
"""
