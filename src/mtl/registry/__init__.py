"""The MLflow model registry: the served pyfunc model, the promotion gate, versions and aliases, loading a registered model.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.registry.<module> import ...``.
"""
