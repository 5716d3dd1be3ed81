"""The installed official FatturaPA XSD: copy it into the data directory, load it compiled.

`pecora schemas install DIR` takes ``Schema_VFPR12_v1.2.3.xsd`` and the W3C
``xmldsig-core-schema.xsd`` it imports from DIR (the Agenzia delle Entrate's download), compiles
them to prove they work, and writes them under ``<data_dir>/schemas/`` (temp file, fsync,
rename: a half-written schema is never seen). From then on invoices are also validated against
them when sent and when inspected (`handlers.formats.fatturapa.OfficialSchema`). Nothing
happens when none is installed: pecora's own structural validation needs no file.
"""

from __future__ import annotations

import os
from pathlib import Path

from handlers.formats.fatturapa import OfficialSchema, SchemaError
from handlers.formats.fatturapa.official_xsd import SCHEMA_FILE, XMLDSIG_FILE

__all__ = ["SchemaError", "install", "installed", "load", "read_pair", "schemas_dir"]

FILES = (SCHEMA_FILE, XMLDSIG_FILE)


def schemas_dir(data_dir: Path) -> Path:
    """Where the installed schema files live."""
    return data_dir / "schemas"


def read_pair(directory: Path) -> tuple[bytes, bytes]:
    """The schema and its xmldsig import, read from ``directory``."""
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise SchemaError(f"{directory}: missing {', '.join(missing)}")
    return (directory / SCHEMA_FILE).read_bytes(), (directory / XMLDSIG_FILE).read_bytes()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def install(source: Path, data_dir: Path) -> Path:
    """Check the schema files in ``source`` compile, then copy them; return where they went."""
    xsd, dsig = read_pair(source)
    OfficialSchema(xsd, dsig)  # raises SchemaError: nothing is installed
    target = schemas_dir(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    for name, data in zip(FILES, (xsd, dsig), strict=True):
        _write(target / name, data)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # the renames themselves are durable
    finally:
        os.close(fd)
    return target


def installed(data_dir: Path) -> bool:
    """Whether an official schema is installed under ``data_dir``."""
    return all((schemas_dir(data_dir) / name).is_file() for name in FILES)


def load(data_dir: Path) -> OfficialSchema | None:
    """The installed schema compiled (once per call: callers keep it), or None."""
    if not installed(data_dir):
        return None
    return OfficialSchema(*read_pair(schemas_dir(data_dir)))
