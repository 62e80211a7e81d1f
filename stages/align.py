"""Stage align@<source>: tokenise the prepared data and align word tags to word pieces; report truncated words."""

import sys

from mtl.config.params import AlignConfig, ModelParams, load_params, section
from mtl.pipeline import align
from mtl.pipeline.stage import source_arg, stage_main


def main() -> None:
    params = load_params()
    align.run(source_arg(sys.argv, params)[0], section(params, "align", AlignConfig), section(params, "model", ModelParams))


if __name__ == "__main__":
    stage_main(main)
