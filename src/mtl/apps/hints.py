"""What to tell someone who has no trained model yet: the same words in ``mtl``, its guide scripts and the app."""

from __future__ import annotations

NO_TRAINED_MODEL = "no trained model yet"
HOW_TO_TRAIN = (
    "to get one, run `make run` (the pipeline: trains and registers mtl-example and mtl-pipeline) "
    "or `python src/fine_tune.py` (a few minutes on the example data)"
)
