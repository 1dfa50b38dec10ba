"""Readers, validation and splits for image sources: pure numpy/pyarrow, no Spark."""
