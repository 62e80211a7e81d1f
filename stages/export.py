"""Stage export: log the model as an MLflow pyfunc, register it, and set @champion or @challenger by the gate."""

from mtl.config import ExportConfig, load_params, section
from mtl.stages import export_model, stage_main


def main() -> None:
    record = export_model(section(load_params(), "export", ExportConfig))
    print(f"registered {record['model_name']} version {record['version']} as @{record['alias']}")
    print(f"serve it: mlflow models serve -m \"{record['model_uri']}\" --env-manager local -h 127.0.0.1 -p 5001")


if __name__ == "__main__":
    stage_main(main)
