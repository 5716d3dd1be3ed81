"""The archive step: `pecora archive verify`'s check over what the tour produced.

The check is the product's (`daemon.archive.verify.verify_archive`: the hash chain, every
object re-hashed, manifests, packages). Beside it, the tour's invoices must be *in*
conservazione: each cycle archives a unit per invoice (the file with its MT or receipts and SdI
messages), so the rows count the units per flow and the items they hold.
"""

from __future__ import annotations

from sqlalchemy import func, select

from daemon.archive.settings import open_archive
from daemon.archive.verify import verify_archive
from daemon.demo.stage import Stage
from daemon.demo.steps import Step, step
from store.models_archive import ArchiveItem, ArchiveUnit


def _units_row(name: str, flow: str, counted: tuple[int, int], wanted: int, what: str) -> Step:
    units, items = counted
    expected = f"each {what} archived as a unit with its evidence (at least {wanted} units)"
    # A unit holding only the invoice file would have lost its evidence: ask for more items.
    ok = units >= wanted and items > units
    return step("archive", name, expected, f"{units} units (flow {flow}) holding {items} items",
                ok)


async def run(stage: Stage, *, issued: int, received: int) -> list[Step]:
    """Verify the archive and count the units of the tour's ``issued`` invoices SdI took in
    (an NS-rejected file has no fiscal life: it may or may not be kept) and its ``received``."""
    settings = stage.settings
    archive = open_archive(settings, settings.archive)
    async with stage.sessions() as s:
        report = await verify_archive(s, archive, trust=settings.archive.trust())
        units = dict((await s.execute(
            select(ArchiveUnit.flow, func.count()).group_by(ArchiveUnit.flow))).tuples().all())
        items = dict((await s.execute(
            select(ArchiveUnit.flow, func.count(ArchiveItem.id))
            .join(ArchiveItem, ArchiveItem.unit_id == ArchiveUnit.id)
            .group_by(ArchiveUnit.flow))).tuples().all())
    said = f"{report.entries} chain entries, {report.units} units, {report.packages} packages"
    if not report.ok:
        said += ": " + "; ".join(p.detail for p in report.problems[:3])
    elif report.entries == 0:
        said += ": nothing archived to verify"
    else:
        said += ": intact"
    return [
        step("archive", "archive verified",
             "hash chain, every stored file and every manifest intact", said,
             report.ok and report.entries > 0),
        _units_row("issued invoices archived", "out",
                   (units.get("out", 0), items.get("out", 0)), issued, "invoice SdI accepted"),
        _units_row("received invoices archived", "in",
                   (units.get("in", 0), items.get("in", 0)), received, "supplier invoice"),
    ]
