"""What each DVC stage does (``stages/*.py`` only read ``params.yaml`` and call these), and ``fine_tune``, the pipeline in one process.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.data.<module> import ...``.
"""
