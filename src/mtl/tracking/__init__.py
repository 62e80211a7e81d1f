"""The MLflow store and what every run records (params, tags, per-epoch metrics, the training history).

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.tracking.<module> import ...``.
"""
