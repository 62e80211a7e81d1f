"""A trained model on free text and on tables (predictions per word, with offsets and entities), and its ONNX graphs.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.inference.<module> import ...``.
"""
