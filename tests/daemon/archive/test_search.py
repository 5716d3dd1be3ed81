"""Search as DM 17/6/2014 requires, on SQLite and PostgreSQL: by name (word prefixes, any case
or accent), codice fiscale, partita IVA (with or without IT), date range, and combinations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from daemon.archive.units import archive_unit
from handlers.archive.manifest import name_terms
from store.archive_search import search
from store.archive_worm import RetainedFilesystemArchive
from tests.support.archive_data import NOW, sample_unit


async def test_search_criteria_and_combinations(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    worm = RetainedFilesystemArchive(tmp_path / "a")
    buyers = [("Mario Rossi S.r.l.", "IT01234567890", "RSSMRA80A01H501U", dt.date(2024, 5, 1)),
              ("Società Rossini", "IT11111111111", None, dt.date(2025, 2, 1)),
              ("Bianchi & Figli", "IT22222222222", "BNCLGU70B02F205X", dt.date(2025, 3, 1))]
    async with sessions() as s, s.begin():
        for n, (name, vat, cf, date) in enumerate(buyers):
            await archive_unit(s, worm, sample_unit(n, buyer=name, buyer_vat=vat, buyer_cf=cf,
                                                    date=date), now=NOW)

    async def ids(**criteria: object) -> list[str]:
        async with sessions() as s:
            hits = await search(s, **criteria)  # type: ignore[arg-type]
        return [h.identifier.split("_")[1] for h in hits]

    assert await ids(name_terms=sorted(name_terms("ross"))) == ["00001.xml", "00000.xml"]
    assert await ids(name_terms=sorted(name_terms("SOCIETÀ ross"))) == ["00001.xml"]
    assert await ids(name_terms=["rossi"]) == ["00001.xml", "00000.xml"]  # rossini too: prefix
    assert await ids(name_terms=["mario", "rossi"]) == ["00000.xml"]
    assert await ids(codice_fiscale="bnclgu70b02f205x") == ["00002.xml"]
    assert await ids(partita_iva="01234567890") == ["00000.xml"]
    assert await ids(partita_iva="IT01234567890") == ["00000.xml"]
    assert await ids(date_from=dt.date(2025, 1, 1)) == ["00002.xml", "00001.xml"]
    assert await ids(name_terms=["ross"], date_from=dt.date(2025, 1, 1),
                     date_to=dt.date(2025, 2, 28)) == ["00001.xml"]
    assert await ids(partita_iva="IT09876543210", date_to=dt.date(2024, 12, 31)) == ["00000.xml"]
    assert await ids(name_terms=["zz"]) == []
    async with sessions() as s:
        hit = (await search(s, codice_fiscale="RSSMRA80A01H501U"))[0]
    assert hit.parties == ("seller: ACME S.p.A. (IT09876543210, 09876543210)",
                           "buyer: Mario Rossi S.r.l. (IT01234567890, RSSMRA80A01H501U)")
