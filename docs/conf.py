"""Sphinx configuration of the tvspline API reference.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (after
``pip install -e ".[docs]"``). The pages are generated from the numpydoc docstrings; the guides
(``README.md``, ``docs/math.md``, ``docs/benchmarks.md``) are plain Markdown read on their own.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import tvspline  # noqa: E402

project = "tvspline"
author = "the tvspline developers"
copyright = "2026, the tvspline developers"
release = tvspline.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "figures"]

autodoc_default_options = {"show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

html_theme = "alabaster"
html_static_path = []
