"""Data sets as tables (readers, the example generator, splits, the SST-2 dev split) and their alignment to word pieces.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.data.<module> import ...``.
"""
