"""The network (backbones, pooling, heads, the sentence encoder and the multi-task model) and how it is saved.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.model.<module> import ...``.
"""
