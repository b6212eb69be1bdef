"""Development tools: never deployed.

The local stand-ins for Azure that `make run` and the tests use: the ACS emulator, the local
Functions host, the local Durable engine, Azurite's launcher, the demo and the worker-indexer check.
`.funcignore` keeps this folder out of the deployed package, and ruff's TID251 (pyproject.toml)
refuses an import of it from product code (`shared/`, `blueprints/`, `function_app.py`).
"""
