#!/usr/bin/env python
"""The user guide's ``python src/run_model.py`` (= ``make run-model`` = ``mtl demo``): load the sentence encoder,
encode example sentences, print their similarity, and run the multi-task model for both tasks.

The model is the trained example model (``mtl-example@champion``, which ``make run`` registers) or your own
(``--model_path outputs/models/fine_tuned/model_final.pt``, a file in the model's directory, or the directory);
with none, untrained heads and a warning that says how to get one. Every option of ``mtl demo`` works here:
``--model_name``, ``--pooling_strategy``, ``--max_length``, ``--model_path`` (``--help`` lists them).
"""

import sys

from mtl.apps.cli import main  # Python puts this file's folder, src/, first on the path: no install needed to find mtl

if __name__ == "__main__":
    main(["demo", *sys.argv[1:]])
