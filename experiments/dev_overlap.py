"""How much SST-2 text the training rows share with the dev split and with validation (docs/pipeline.md, "Which data chose what").

GLUE split SST-2 by sentence: no validation sentence's own phrases are in train, but common words and short
phrases of other reviews are. The dev carving (``mtl.data.dev_split``) is stricter: every row that is a word
span of a dev sentence leaves training. This prints, by length in words:

- ``validation``: GLUE train rows that are a word span of some validation sentence;
- ``dev``: rows left for training that are a word span of some dev sentence (0 by construction);
- ``taken out``: rows the carving removed (dev sentences themselves excluded);
- ``of those, inside a kept sentence``: removed rows that are also a word span of a whole training row
  that stays, i.e. what a carving that mirrored validation would give back.

    .venv/bin/python experiments/dev_overlap.py                 # ../shared/data, the params' dev size and seed
    .venv/bin/python experiments/dev_overlap.py --out overlap.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import pandas as pd  # noqa: E402

from mtl.config.params import PrepareConfig, load_params, section
from mtl.config.paths import resolve_path  # noqa: E402

# the carving's own row key, so that rows are compared here exactly as the carving compares them
from mtl.data.dev_split import _key, carve_dev, span_overlap, whole_rows  # noqa: E402
from mtl.data.raw import load_split  # noqa: E402


def overlaps(train: pd.DataFrame, validation: pd.DataFrame, dev_size: int, seed: int) -> dict[str, dict[int, int]]:
    """The four counts of the module docstring, each by length in words (6 = 6 or more)."""
    carved = carve_dev(train, dev_size, None, seed)
    kept_or_dev = {_key(list(words)) for words in carved.train["words"]} | {_key(list(words)) for words in carved.dev["words"]}
    # a carved-out row is one whose text left the pool; copies of a dev sentence are the dev split, not phrases of it
    out = train[[_key(list(words)) not in kept_or_dev for words in train["words"]]]
    return {
        "validation": span_overlap(train, validation),
        "dev": span_overlap(carved.train, carved.dev),
        "taken out": span_overlap(out, carved.dev),
        "of those, inside a kept sentence": span_overlap(out, whole_rows(carved.train)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=REPO / "params.yaml", help="params.yaml whose prepare section gives the dev size and seed")
    parser.add_argument("--data-dir", type=Path, default=None, help="raw data directory (default: prepare.raw_dir, from the project root)")
    parser.add_argument("--out", type=Path, default=None, help="also write the counts as JSON here")
    args = parser.parse_args(argv)
    cfg = section(load_params(args.params), "prepare", PrepareConfig, args.params)
    raw_dir = args.data_dir or resolve_path(cfg.raw_dir)
    counts = overlaps(load_split("sst2", "train", raw_dir), load_split("sst2", "validation", raw_dir), cfg.sst2_dev, cfg.seed)
    print(f"SST-2 training rows that are a word span of a scored sentence (dev: {cfg.sst2_dev} sentences, seed {cfg.seed})")
    print(f"{'':34} {'total':>6} " + " ".join(f"{n:>5}" for n in ("1", "2", "3", "4", "5", "6+")))
    for name, by_length in counts.items():
        print(f"{name:34} {sum(by_length.values()):>6} " + " ".join(f"{c:>5}" for c in by_length.values()))
    if args.out:
        args.out.write_text(json.dumps(counts, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
