"""sparkling-mnist: a distributed MNIST training system on Spark and Sparkling Water."""

__version__ = "0.1.0"
