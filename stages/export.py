"""Stage export@<source>: register the model (once per training run) and set @champion or @challenger by the gate."""

import sys

from mtl.config.params import ExportConfig, load_params, section
from mtl.pipeline import export
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    source, settings = source_arg(sys.argv, params)
    record = export.run(source, settings, section(params, "export", ExportConfig))
    reused = " (reused: already registered from this training run)" if record["reused_version"] else ""
    state = "stays @champion, though it fails the gate now" if record["gate"]["kept_champion"] else f"is @{record['alias']}"
    print(f"{record['model_name']} version {record['version']}{reused} {state}")
    for failure in record["gate"]["failures"]:
        print(f"  gate: {failure}")
    print(f"serve it: mlflow models serve -m \"{record['model_uri']}\" --env-manager local -h 127.0.0.1 -p 5001")


if __name__ == "__main__":
    stage_main(main)
