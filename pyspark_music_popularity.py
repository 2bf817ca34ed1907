"""Spark's way in to python_ml's raw-file data source ``music_raw``: Spark 4 registers the
``DefaultSource`` of every installed top-level module named ``pyspark_*`` in each session, dbt's
included (python_ml/warehouse/spark_source.py says what it reads)."""

from python_ml.warehouse.spark_source import RawFileSource as DefaultSource

__all__ = ["DefaultSource"]
