"""The archive step: `pecora archive verify`'s check over what the tour produced.

The check is the product's (`daemon.archive.verify.verify_archive`: the hash chain, every
object re-hashed, manifests, packages). Whether the tour's invoices are *in* conservazione
depends on each invoice pipeline archiving its units; where one does not yet, its row says so
as a ``gap`` rather than passing an empty archive off as a verified one.
"""

from __future__ import annotations

from sqlalchemy import func, select

from daemon.archive.settings import open_archive
from daemon.archive.verify import verify_archive
from daemon.demo.stage import Stage
from daemon.demo.steps import Step
from store.models_archive import ArchiveUnit


def _units_row(name: str, flow: str, units: int, wanted: int, what: str) -> Step:
    expected = f"each {what} archived as a unit with its evidence (at least {wanted})"
    if units == 0:
        return Step("archive", name, expected,
                    "0 units: this pipeline does not put invoices into conservazione yet",
                    "gap")
    ok = units >= wanted
    return Step("archive", name, expected, f"{units} units (flow {flow})",
                "ok" if ok else "failed")


async def run(stage: Stage, *, issued: int, received: int) -> list[Step]:
    """Verify the archive and count the units of the tour's ``issued`` invoices SdI took in
    (an NS-rejected file has no fiscal life) and its ``received`` ones."""
    settings = stage.settings
    archive = open_archive(settings, settings.archive)
    async with stage.sessions() as s:
        report = await verify_archive(s, archive, trust=settings.archive.trust())
        rows = await s.execute(select(ArchiveUnit.flow, func.count()).group_by(ArchiveUnit.flow))
        per_flow = {str(flow): int(n) for flow, n in rows.all()}
    expected = "hash chain, every stored file and every manifest intact"
    said = f"{report.entries} chain entries, {report.units} units, {report.packages} packages"
    if not report.ok:
        problems = "; ".join(p.detail for p in report.problems[:3])
        verified = Step("archive", "archive verified", expected, f"{said}: {problems}", "failed")
    elif report.entries == 0:
        verified = Step("archive", "archive verified", expected,
                        f"{said}: nothing archived to verify", "gap")
    else:
        verified = Step("archive", "archive verified", expected, f"{said}: intact", "ok")
    return [
        verified,
        _units_row("issued invoices archived", "out", per_flow.get("out", 0), issued,
                   "invoice SdI accepted"),
        _units_row("received invoices archived", "in", per_flow.get("in", 0), received,
                   "supplier invoice"),
    ]
