"""Sphinx configuration for the NeuraRust documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the
repository root after ``pip install -e .`` (or an in-place build), so that
autodoc can import ``neurarust`` and its compiled core.
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# The checkout being documented comes first, so an in-place build is what autodoc imports.
sys.path.insert(0, ROOT)

import neurarust  # noqa: E402  (after the path set-up above)

project = "NeuraRust"
author = "The NeuraRust contributors"
copyright = "NeuraRust contributors; MIT OR Apache-2.0"  # noqa: A001 - Sphinx's name
release = neurarust.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = []

# Docstrings use Google style ("Example:", "Args:"); their examples are doctests.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # signatures mirror torch's; the prose says what is accepted
autodoc_default_options = {"undoc-members": False, "show-inheritance": False}

html_theme = "alabaster"
html_static_path = []
html_title = f"NeuraRust {release}"
