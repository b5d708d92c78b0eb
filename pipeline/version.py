"""The pipeline's version, written on every row and dead letter."""

PIPELINE_VERSION = "0.1.0"
