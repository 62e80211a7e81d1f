"""Stage prepare_{example,real}: read or generate the data into one parquet table per data set and split.

Usage: python stages/prepare.py example|real
"""

import sys

from mtl.config.params import PrepareConfig, load_params, section
from mtl.config.sources import source_config
from mtl.pipeline import prepare
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    source = source_arg(sys.argv, params)
    prepare.run(source, source_config(params, source).data, section(params, "prepare", PrepareConfig))


if __name__ == "__main__":
    stage_main(main)
