"""mtl: a multi-task sentence transformer and the pipeline that trains, tracks and serves it."""

__version__ = "0.1.0"
