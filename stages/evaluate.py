"""Stage evaluate: validation and test metrics per task, PNG plots, all logged to the pipeline's MLflow run."""

from mtl.config import EvaluateConfig, load_params, section
from mtl.stages import evaluate_model, stage_main


def main() -> None:
    evaluate_model(section(load_params(), "evaluate", EvaluateConfig).batch_size)


if __name__ == "__main__":
    stage_main(main)
