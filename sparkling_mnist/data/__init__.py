"""The ingest stage and the data every later stage reads: readers of IDX, CSV, Parquet
and the embedded digits, validation and the split (pure numpy/pyarrow, no Spark), the
stage itself (`ingest`), image rows as H2O frames (`h2o_frames`) and the run's frames
shared by the stages of one session (`frames`).
"""
