"""How a forward pass runs (PyTorch or ONNX Runtime, float32 or bf16) inside the one length-sorted batching loop.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.runtime.<module> import ...``.
"""
