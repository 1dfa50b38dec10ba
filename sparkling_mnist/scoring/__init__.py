"""Scoring new images through a stored run: the plan read from the manifest (`plan`),
two engines, H2O or Spark without H2O (`engines`), and the `score` job (`job`).
"""

ENGINES = ("h2o", "spark")
"""The scoring engines: the H2O cluster, or Spark alone (the PipelineModel, no H2O)."""
