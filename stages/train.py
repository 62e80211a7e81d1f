"""Stage train@<source>: train the multi-task model in a new MLflow run and save the model directory."""

import sys

from mtl.config.params import ModelParams, TrainConfig, load_params, section
from mtl.pipeline import train
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    source, settings = source_arg(sys.argv, params)
    model = section(params, "model", ModelParams)
    cfg = section(params, "train", TrainConfig).for_source(source, settings.train)
    # the run records every setting that shaped this model, not only the stage's own
    logged = {"source": source, **{key: params.get(key, {}) for key in ("prepare", "model", "align", "train")}}
    logged["source_settings"] = params["sources"][source]
    # each source's runs go to the experiment named as its registered model (mtl-pipeline, mtl-example, ...)
    train.run(source, model, cfg, logged, experiment=settings.model)


if __name__ == "__main__":
    stage_main(main)
