"""Invoice → one self-contained HTML page for people (inline CSS, no scripts, no external refs).

Invoices are hostile input: every value goes through `html.escape` (quotes included) and the
page carries a Content-Security-Policy that forbids scripts and remote loads, as a second line
of defence should a value ever escape unescaped. Lots get one ``<section>`` per body.
"""

from __future__ import annotations

from html import escape

from handlers.formats.fatturapa import FatturaElettronica

from .blocks import Block, DocumentView, Fields, Notes, Table
from .view import build_view

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;
max-width:60em;color:#222;line-height:1.35;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:2px solid #446;
padding-bottom:.2em;margin-top:1.6em}h3{font-size:1em;margin:1.2em 0 .4em;color:#446}
.parti{display:flex;gap:2em;flex-wrap:wrap}.parti>div{flex:1 1 20em}
dl{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #ccd;padding:.25em .45em;vertical-align:top;text-align:left;
overflow-wrap:anywhere}th{background:#eef}td.num,th.num{text-align:right;white-space:nowrap}
p.note{white-space:pre-wrap;overflow-wrap:anywhere}.totale{font-size:1.1em;font-weight:bold}
footer{margin-top:2em;font-size:.8em;color:#777}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'"
FOOTER = ("Rappresentazione leggibile generata da pecora. L'originale fiscalmente valido è "
          "il file XML trasmesso tramite il Sistema di Interscambio.")


def _e(text: str) -> str:
    return escape(text, quote=True)


def _block(block: Block) -> str:
    out = [f"<h3>{_e(block.title)}</h3>"]
    if isinstance(block, Fields):
        out.append("<dl>")
        out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in block.items]
        out.append("</dl>")
    elif isinstance(block, Table):
        def cell(tag: str, i: int, value: str) -> str:
            cls = ' class="num"' if i in block.numeric else ""
            return f"<{tag}{cls}>{_e(value)}</{tag}>"

        out.append("<table><thead><tr>")
        out += [cell("th", i, h) for i, h in enumerate(block.headers)]
        out.append("</tr></thead><tbody>")
        for row in block.rows:
            out.append("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>")
        out.append("</tbody></table>")
    elif isinstance(block, Notes):
        out += [f'<p class="note">{_e(p)}</p>' for p in block.paragraphs]
    return "\n".join(out)


def _document(doc: DocumentView) -> str:
    return "\n".join([
        '<section class="documento">',
        f"<h2>{_e(doc.heading)}</h2>",
        f'<p class="totale">Totale documento: {_e(doc.total)}</p>',
        *(_block(b) for b in doc.blocks),
        "</section>",
    ])


def render_html(invoice: FatturaElettronica, *, title: str | None = None) -> str:
    """A complete HTML5 page for ``invoice``; ``title`` overrides the <title> (e.g. file name).

    Never raises on a broken model: unreadable sections are shown as such.
    """
    view = build_view(invoice)
    page_title = title if title is not None else view.title
    parts = [
        "<!DOCTYPE html>",
        '<html lang="it">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="pecora">',
        f"<title>{_e(page_title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<header><h1>{_e(view.title)}</h1></header>",
        '<section class="testata">',
        _block(view.transmission),
        '<div class="parti">',
        *(f"<div>{_block(p)}</div>" for p in view.parties),
        "</div>",
        "</section>",
        *(_document(d) for d in view.documents),
        f"<footer>{_e(FOOTER)}</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)
