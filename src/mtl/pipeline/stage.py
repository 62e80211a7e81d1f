"""The frame every stage shares: the stage script's argument, and one clear line for a user's error.

The pipeline trains one model per data source (``params.yaml``'s ``sources``: ``mtl.config.sources``); each
source's files are ``mtl.config.paths.Paths``. Each stage writes its outputs atomically (temporary name, then rename), so a failed or killed run never
leaves a half-written output behind.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from mtl.config.params import ParamsError
from mtl.config.sources import SourceConfig, load_sources
from mtl.data.errors import DataError

log = logging.getLogger("mtl")


def stage_main(body: Callable[[], object]) -> None:
    """Run a stage's ``body()``; a known user error ends it with one clear line instead of a traceback."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        body()
    except (ParamsError, DataError, FileNotFoundError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def source_arg(argv: list[str], params: dict) -> tuple[str, SourceConfig]:
    """The data source a stage script was called for (``python stages/train.py real``), one ``params.yaml`` declares,
    and its settings (``sources.<name>``)."""
    sources = load_sources(params)
    if len(argv) != 2 or argv[1] not in sources:
        sys.exit(f"usage: python {argv[0]} {'|'.join(sources)}  (the sources params.yaml declares)")
    return argv[1], sources[argv[1]]
