"""What every stage runs on: the Spark+H2O session (`session`), the pure resolution of
its Spark settings (`spark_conf`), a Spark standalone cluster on 127.0.0.1 (`cluster`),
and H2O model I/O (`models`: save, load, list, exists).
"""
