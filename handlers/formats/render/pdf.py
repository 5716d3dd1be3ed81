"""Invoice → PDF (A4) with fpdf2 and the PDF core fonts: same content as the HTML page.

Pure: no font files are read (core Helvetica only), nothing is written to disk. Core fonts
only cover Windows-1252 (WinAnsiEncoding): it has the € sign, Italian accented letters and the
typographic quotes, so those print as themselves; any other character is transliterated
(NFKD without accents: "ő" → "o", a few symbols by table, then "?") — rendering never fails on
the text of a hostile invoice, it just loses what the font cannot show.

Output is deterministic for the same input and arguments: creation date, producer and creator
are fixed (the creation date is a parameter, default `FIXED_DATE`) and the file /ID is derived
from the content, so a PDF can be archived, hashed and compared in tests.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from fpdf import FPDF
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace

from handlers.formats.fatturapa import FatturaElettronica

from .blocks import Block, Fields, Notes, Table
from .html import FOOTER
from .view import build_view

#: Creation date written when the caller gives none: a constant, so the bytes are stable.
FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
ENCODING = "windows-1252"
_FONT = "Helvetica"
_SUBST = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\u2192": "->",
    "\u2190": "<-", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u00a0": " ",
    "\u2009": " ", "\u202f": " ", "\u2007": " ",
}
_HEAD = FontFace(emphasis="BOLD", fill_color=(230, 230, 242))


def transliterate(text: str) -> str:
    """``text`` restricted to Windows-1252, the core fonts' encoding (see module docstring)."""
    out = []
    for ch in text:
        if ch in "\t\r\v\f" or (unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n"):
            out.append(" ")  # control/format chars (bidi overrides, NUL…) print as blanks
            continue
        try:
            ch.encode(ENCODING)
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        sub = _SUBST.get(ch)
        if sub is None:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                           if not unicodedata.combining(c))
            try:
                base.encode(ENCODING)
                sub = base or "?"
            except UnicodeEncodeError:
                sub = "?"
        out.append(sub)
    return "".join(out)


class _Doc(FPDF):
    """A4 portrait with a page-number footer."""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=7)
        self.set_text_color(120)
        self.cell(0, 5, transliterate(f"{FOOTER}  -  Pagina {self.page_no()}/{{nb}}"),
                  align="C")
        self.set_text_color(0)


def _title(pdf: FPDF, text: str, size: float) -> None:
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, transliterate(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _block(pdf: FPDF, block: Block) -> None:
    _title(pdf, block.title, 10)
    pdf.set_font(_FONT, size=8)
    if isinstance(block, Fields):
        if not block.items:
            return
        with pdf.table(col_widths=(32, 68), first_row_as_headings=False,
                       borders_layout=TableBordersLayout.NONE, line_height=4,
                       padding=0.6) as table:
            for key, value in block.items:
                row = table.row()
                row.cell(transliterate(key), style=FontFace(emphasis="BOLD"))
                row.cell(transliterate(value))
    elif isinstance(block, Table):
        align = tuple("RIGHT" if i in block.numeric else "LEFT"
                      for i in range(len(block.headers)))
        with pdf.table(col_widths=block.widths, text_align=align, headings_style=_HEAD,
                       line_height=4, padding=0.8,
                       borders_layout=TableBordersLayout.HORIZONTAL_LINES) as table:
            for cells in (block.headers, *block.rows):
                row = table.row()
                for value in cells:
                    row.cell(transliterate(value))
    elif isinstance(block, Notes):
        for para in block.paragraphs:
            pdf.multi_cell(0, 4, transliterate(para), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def render_pdf(invoice: FatturaElettronica, *, created: datetime = FIXED_DATE,
               compress: bool = True) -> bytes:
    """The invoice as PDF bytes. ``compress=False`` leaves content streams readable (tests).

    Deterministic for equal arguments; never raises on a broken model or exotic text.
    """
    view = build_view(invoice)
    pdf = _Doc(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_compression(compress)
    pdf.set_creation_date(created)
    pdf.set_creator("pecora")
    pdf.set_producer("pecora")
    pdf.set_title(transliterate(view.title))
    pdf.set_lang("it")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    _title(pdf, view.title, 15)
    _block(pdf, view.transmission)
    for party in view.parties:
        _block(pdf, party)
    for doc in view.documents:
        pdf.ln(2)
        _title(pdf, doc.heading, 13)
        pdf.set_font(_FONT, "B", 10)
        pdf.cell(0, 6, transliterate(f"Totale documento: {doc.total}"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        for block in doc.blocks:
            _block(pdf, block)
    return bytes(pdf.output())
