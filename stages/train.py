"""Stage train@<source>: train the multi-task model in a new MLflow run and save the model directory."""

import sys

from mtl.config.params import ModelParams, TrainConfig, load_params, section
from mtl.pipeline import train
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    source = source_arg(sys.argv)
    params = load_params()
    model = section(params, "model", ModelParams)
    cfg = section(params, "train", TrainConfig)
    # the run records every setting that shaped this model, not only the stage's own
    logged = {"source": source, **{key: params.get(key, {}) for key in ("prepare", "model", "align", "train")}}
    train.run(source, model, cfg, logged)


if __name__ == "__main__":
    stage_main(main)
