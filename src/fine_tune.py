#!/usr/bin/env python
"""The user guide's ``python src/fine_tune.py`` (= ``mtl fine-tune``): fine-tune the multi-task model.

``--create_example_data`` writes the example data to ``outputs/data/example_data.json``; a run without
``--data`` then trains on that file (else on freshly generated example data) and saves the model in
``outputs/models/fine_tuned`` (``--output_dir``), tracked in MLflow (experiment ``mtl-cli``), where the app
lists it. The guide's options all work (``--model_name``, ``--pooling_strategy``, ``--num_epochs`` 5,
``--batch_size`` 8, ``--learning_rate``, ``--task_a_weight``, ``--task_b_weight``, ``--output_dir``); the
learning rates' defaults differ from the guide's 2e-5, and docs/cli.md says why.
"""

import sys

from mtl.apps.cli import main  # Python puts this file's folder, src/, first on the path: no install needed to find mtl

if __name__ == "__main__":
    main(["fine-tune", *sys.argv[1:]])
