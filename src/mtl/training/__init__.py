"""The training loop, its losses, task sampling, freezing and several-process training.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.training.<module> import ...``.
"""
