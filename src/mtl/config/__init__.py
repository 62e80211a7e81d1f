"""The typed ``params.yaml`` sections, the enumerated options and their checks, project paths.

The CLI parses its arguments with only this layer imported, so ``mtl --help`` never loads torch.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.config.<module> import ...``.
"""
