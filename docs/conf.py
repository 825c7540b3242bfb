"""Sphinx configuration of the pyftorch documentation (built by docs/build.py, `make docs`)."""

from __future__ import annotations

import sys
from pathlib import Path

# docs/build.py stages this directory under build/docs-src/sphinx; the checkout is found
# from there or from docs/ itself.
for parent in Path(__file__).resolve().parents:
    if (parent / "pyftorch" / "__init__.py").is_file():
        sys.path.insert(0, str(parent))
        break

project = "pyftorch"
author = "The pyftorch authors"
copyright = "2026, The pyftorch authors (MIT License)"
release = "0.1.0"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = "pyftorch"
html_theme_options = {"description": "PyTorch autograd and online training for Fortran", "fixed_sidebar": True}
html_show_sourcelink = False
