#!/usr/bin/env python
"""The user guide's ``python src/run_model_real_data.py`` (= ``make run-real-data`` = ``mtl demo --real-data``): the
trained real-data model (``mtl-pipeline@champion``) on SST-2 and CoNLL-2003 validation sentences, its predictions
beside the gold labels, with accuracy and F1. With no trained model, untrained heads and a warning that says how
to get one. Every option of ``mtl demo`` works here (``--help`` lists them).
"""

import sys

from mtl.apps.cli import main  # Python puts this file's folder, src/, first on the path: no install needed to find mtl

if __name__ == "__main__":
    main(["demo", "--real-data", *sys.argv[1:]])
