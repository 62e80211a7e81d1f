"""Stage evaluate@<source>: validation and test metrics per task and PNG plots, logged to the model's MLflow run."""

import sys

from mtl.config.params import EvaluateConfig, load_params, section
from mtl.pipeline import evaluate
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    evaluate.run(source_arg(sys.argv, params)[0], section(params, "evaluate", EvaluateConfig).batch_size)


if __name__ == "__main__":
    stage_main(main)
