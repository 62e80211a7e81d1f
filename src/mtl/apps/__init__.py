"""The ``mtl`` command line, the web app's logic and the demo.

Imports only go down the layers (``pyproject.toml``'s import-linter contracts). This file imports nothing:
import from the module, ``from mtl.apps.<module> import ...``.
"""
