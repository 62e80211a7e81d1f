"""Stage train: train the multi-task model in a new MLflow run and save the model directory."""

from mtl.config import ModelParams, load_params, section
from mtl.stages import stage_main, train_model
from mtl.train import TrainConfig


def main() -> None:
    params = load_params()
    model = section(params, "model", ModelParams)
    cfg = section(params, "train", TrainConfig)
    # the run records every setting that shaped this model, not only the stage's own
    logged = {key: params.get(key, {}) for key in ("prepare", "model", "align", "train")}
    train_model(model, cfg, logged)


if __name__ == "__main__":
    stage_main(main)
