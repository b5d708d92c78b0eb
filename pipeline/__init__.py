"""News ingestion pipeline: archived raw news -> clean, Hive-partitioned Parquet.

`python -m pipeline --input 'archive/**/*' --output out/` runs it; `pipeline.graph.run(argv)`
is the same from Python.
"""

from pipeline.version import PIPELINE_VERSION

__all__ = ["PIPELINE_VERSION"]
