"""Stage prepare_{example,real}: read or generate the data into one parquet table per data set and split.

Usage: python stages/prepare.py example|real
"""

import sys

from mtl.config.params import PrepareConfig, load_params, section
from mtl.pipeline import prepare
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    source, settings = source_arg(sys.argv, params)
    prepare.run(source, settings.data, section(params, "prepare", PrepareConfig))


if __name__ == "__main__":
    stage_main(main)
