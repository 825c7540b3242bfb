"""pyftorch lint: static analysis of Fortran code that uses the ``ftorch`` module.

Public entry point: :func:`preprocess.cli.main` (``pyftorch lint ...``).
"""

__version__ = "0.1.0"
TOOL_NAME = "pyftorch-lint"
