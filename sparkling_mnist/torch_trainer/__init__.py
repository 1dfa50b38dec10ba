"""The torch trainer (`trainer: torch`): H2O deep-learning networks whose weights are
learnt with minibatches in PyTorch, at full CPU speed, then loaded into ordinary H2O
models (`initial_weights`) and checked to score exactly like the torch network.

- `plan`: the network an H2O parameter set describes, H2O's input scaling, the weights
  H2O needs (pure numpy);
- `data`: the rows, read from the run's Parquet (pure numpy/pyarrow);
- `loop`: the training loop, alone or as one DDP rank (torch);
- `runner`: the driver, or the executors through Spark's TorchDistributor;
- `h2o_bridge`: the H2O model from the weights and the agreement check (h2o);
- `train`: a network trained by torch and handed to H2O;
- `fit`: the trainer seam, the one call the stages make: any H2O model fitted (or
  reloaded) by the trainer resolved for it, with a typed record of how.
"""

from sparkling_mnist.torch_trainer.data import ParquetPart, TrainingData, run_rows
from sparkling_mnist.torch_trainer.h2o_bridge import H2OTarget, read_record, write_record
from sparkling_mnist.torch_trainer.train import (
    checked_plan,
    label_classes,
    train_with_torch,
)

__all__ = [
    "H2OTarget",
    "ParquetPart",
    "TrainingData",
    "checked_plan",
    "label_classes",
    "read_record",
    "run_rows",
    "train_with_torch",
    "write_record",
]
