"""Open the AT zip: SdI's attestazione arrives as ``…_AT_nnn.zip`` holding the original invoice
file and the signed AT XML (domain.md §2 [C]); the rest of the pipeline reads the XML.

Pure: the zip is read from bytes in memory, with bounded member count and sizes (a zip bomb is
an unreadable notification, held for an operator, never a crash).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

from handlers.formats.filenames import NotificationType
from handlers.registry import handler
from handlers.sdi_mail import SdiDelivery
from handlers.work import Disposition, Stop, Work

MAX_MEMBERS = 8
MAX_MEMBER_BYTES = 6 * 1024 * 1024


def _at_xml(content: bytes) -> tuple[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{len(members)} files in the zip")
        for info in members:
            if "_AT_" in info.filename and info.filename.lower().endswith(".xml"):
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ValueError(f"{info.filename} is {info.file_size} bytes")
                name = info.filename.rsplit("/", 1)[-1]
                return name, archive.read(info)[:MAX_MEMBER_BYTES]
    raise ValueError("no _AT_ XML in the zip")


@handler("open-attestazione-zip")
def open_attestazione_zip(work: Work) -> Work | Stop:
    """Swap the AT zip for the AT XML inside it; anything else passes unchanged."""
    delivery = work.require(SdiDelivery)
    att, name = delivery.notification, delivery.notification_name
    if att is None or name is None or name.type is not NotificationType.AT:
        return work
    if not att.filename.lower().endswith(".zip"):
        return work
    try:
        member, xml = _at_xml(att.content)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return work.stop(Disposition.QUARANTINE, f"unreadable AT zip {att.filename}: {exc}")
    opened = replace(delivery, notification=replace(att, filename=member, content=xml))
    facts = tuple(opened if f is delivery else f for f in work.facts)
    return replace(work, facts=facts)
