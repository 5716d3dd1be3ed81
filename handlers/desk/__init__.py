"""Support desk: the pure parts (desk-hours SLA maths, reading support mail into tickets).

`PIPELINES` maps this area's route to its steps; `handlers/routes.py` merges it.
"""

from __future__ import annotations

from handlers.desk import mail  # noqa: F401  (registers the steps and the predicate)

PIPELINES: dict[str, tuple[str, ...]] = {
    # Mail to the support address: becomes a ticket, or threads into the one it answers.
    "support-mail": ("read-support-mail", "file-support-mail"),
}
