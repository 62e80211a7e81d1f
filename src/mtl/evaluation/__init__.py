"""Scores (sentence accuracy, entity F1 at word and character level), the metrics summary and the plots.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.evaluation.<module> import ...``.
"""
