"""Sphinx configuration of the offline docs site (built by `python docs/build.py`, which writes the source folder)."""
from nbdev.config import get_config

_cfg = get_config()  # pyproject.toml's [project] and [tool.nbdev], read as nbdev reads them
project = _cfg.lib_name
author = _cfg.author
copyright = 'ftcv developers'
extensions = ['myst_nb']

# Notebooks are shown as committed (outputs, figures, saved widget state): never executed by the docs build.
nb_execution_mode = 'off'
nb_merge_streams = True
# Markdown outputs (e.g. `display(Markdown(df.to_markdown()))`) are parsed as MyST, so their GFM tables become tables.
nb_render_markdown_format = 'myst'
# `$...$` and `$$...$$` in notebooks are maths, typeset by the MathJax vendored in _static/mathjax (no CDN).
myst_enable_extensions = ['dollarmath']
mathjax_path = 'mathjax/tex-svg-full.js'
# Links were made local (or left absolute) by build.py: emit them as written instead of resolving them as references.
myst_all_links_external = True
myst_heading_anchors = 3
# show_doc output starts API entries at H3 right under a page's H1 or H2.
suppress_warnings = ['myst.header']

# The saved widget states are rendered by the widget JavaScript vendored in _static/widgets (no CDN).
nb_ipywidgets_js = {'widgets/require.js': {}, 'widgets/paths.js': {}, 'widgets/embed-amd.js': {}}

html_theme = 'sphinx_book_theme'
html_title = 'ftcv'
html_static_path = ['_static']
html_css_files = ['ftcv.css']
html_theme_options = {
    'repository_url': _cfg.git_url,
    'use_repository_button': True,
    'show_toc_level': 2,
    'navigation_with_keys': False,
}
html_show_sourcelink = False
html_copy_source = False
# A fixed default colour mode: without it pydata-sphinx-theme logs "Got invalid theme mode" as a console error.
html_context = {'default_mode': 'light'}
