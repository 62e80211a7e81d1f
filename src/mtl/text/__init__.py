"""Pure functions over words and tags (word splitting, label alignment, entities, word shapes, tag decoding).

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.text.<module> import ...``.
"""
