"""`pecora demo`: a scripted tour of pecora against the embedded sandbox (issue 4 §4, issue 8 §6).

Modules: `stage` starts the daemon in sandbox mode with its local stand-ins; `active`,
`passive`, `campaign` and `archive` are the parts of the tour; `steps` is a summary row and the
waiting; `cli` is the command (``add_parser`` for ``pecora``, ``main`` for ``python -m``).
"""

from daemon.demo.cli import add_parser, main

__all__ = ["add_parser", "main"]
