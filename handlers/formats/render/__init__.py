"""Invoice rendering for people: FatturaPA model → self-contained HTML page or PDF.

Pure functions, model in and ``str``/``bytes`` out: no file or network I/O, no fonts loaded
from disk (the PDF uses the PDF core fonts). Both outputs are built from the same
presentation model (`view.build_view`), so they always show the same content.

Public API: `render_html`, `render_pdf`, `build_view`.
"""

from .html import render_html
from .pdf import render_pdf
from .view import build_view

__all__ = ["build_view", "render_html", "render_pdf"]
