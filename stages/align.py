"""Stage align: tokenise the prepared data and align word tags to word pieces; report truncated words."""

from mtl.config import AlignConfig, ModelParams, load_params, section
from mtl.stages import align, stage_main


def main() -> None:
    params = load_params()
    align(section(params, "align", AlignConfig), section(params, "model", ModelParams))


if __name__ == "__main__":
    stage_main(main)
