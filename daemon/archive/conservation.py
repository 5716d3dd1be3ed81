"""Which backend the invoice cycles archive their units to, and how they reach it.

The daemon has two stores of bytes, on purpose:

* the *operational* store (`Services.archive`, a content-addressed `FilesystemArchive`): raw
  inbox messages, outbox payloads, files referenced by tracking events. It is working storage:
  no retention, no legal weight, always local (the inbox reads it on every item).
* the *conservation* backend (`Services.conservation`, what ``[archive]`` configures through
  `daemon.archive.settings.open_archive`: `RetainedFilesystemArchive` or S3 Object Lock).

Archival units go to the **conservation backend**. Conservazione a norma (domain.md §6.1) keeps
an invoice and its evidence for 10 years (art. 2220 c.c.) with nothing deletable or
overwritable meanwhile (issue 7 §5): only the WORM backend enforces a retain-until instant per
object (and, on S3, COMPLIANCE mode server-side). It is also what `pecora archive verify`,
`export` and the daily package job open, so a unit written elsewhere would be reported as
missing on an S3 deployment. With the default filesystem backend both stores share
``archive_dir`` (same layout), so a file is stored once and only gains a retention record.

The appliers only receive the `Archive` of their `ApplyContext` (the operational store), and
the send use-case an `Archive` in its `SendContext`; `ConservedArchive` is the operational store
carrying the conservation backend with it, so every existing caller keeps working and
`conservation_of` finds the right backend from what a cycle was given.
"""

from __future__ import annotations

from pathlib import Path

from store.archive import Archive, FilesystemArchive
from store.archive_worm import RetainedFilesystemArchive, WormArchive


class ConservedArchive(FilesystemArchive):
    """The operational store, knowing the WORM backend that archival units go to."""

    def __init__(self, root: Path, conservation: WormArchive) -> None:
        super().__init__(root)
        self.conservation = conservation


def conservation_of(archive: Archive) -> WormArchive:
    """The WORM backend to archive units to, given the archive a cycle was handed.

    A `ConservedArchive` names it; a WORM archive is one; a plain `FilesystemArchive` (tests,
    tools) means the default ``[archive]`` backend on the same directory, which is exactly
    what `open_archive` opens for ``backend = "filesystem"``.
    """
    found = getattr(archive, "conservation", None)
    if isinstance(found, WormArchive):
        return found
    if isinstance(archive, WormArchive):
        return archive
    if isinstance(archive, FilesystemArchive):
        return RetainedFilesystemArchive(archive.root)
    raise TypeError(f"no conservation backend reachable from {type(archive).__name__}")
