"""Stage prepare_{example,real}: read or generate the data into one parquet table per data set and split.

Usage: python stages/prepare.py example|real
"""

import sys

from mtl.config import PrepareConfig, load_params, section
from mtl.stages import prepare, stage_main


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else ""
    if source not in ("example", "real"):
        sys.exit("usage: python stages/prepare.py example|real")
    prepare(source, section(load_params(), "prepare", PrepareConfig))


if __name__ == "__main__":
    stage_main(main)
