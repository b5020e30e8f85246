"""Sphinx configuration of the skcal documentation."""

from pathlib import Path

import skcal
from skcal.calibrators._registry import CALIBRATORS

# the API reference's list of calibrators comes from the registry, in its order
Path(__file__).with_name("_calibrator_list.rst").write_text(
    ".. currentmodule:: skcal\n\n.. autosummary::\n   :toctree: generated/\n\n"
    + "".join(f"   {entry.cls.__name__}\n" for entry in CALIBRATORS)
)

project = "skcal"
copyright = "skcal developers"
version = release = skcal.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# the scikit-learn style cross references of the docstrings ("array-like",
# "ndarray of shape ...") are plain text, not targets
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
}

html_theme = "pydata_sphinx_theme"
html_title = "skcal"
html_theme_options = {"navigation_with_keys": False}
templates_path = ["_templates"]
exclude_patterns = ["_build"]
nitpicky = False
