"""SdI deliveries of signed supplier invoices, as they reach a PEC mailbox (tests and benches).

Each is a FatturaPA invoice signed CAdES-BES as ``.xml.p7m`` with its MT, in SdI's mail, wrapped
in the signed PEC transport envelope of SdI's provider: pecora's own builders, so every
signature verifies against the supplier's sandbox CA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from daemon.sandbox.sdi_post import mt, naming_name
from daemon.sandbox.sdi_state import FileRecord
from handlers.formats.fatturapa import write
from handlers.formats.filenames import build_invoice_file_name
from handlers.formats.p7m import sign_cades_bes
from handlers.formats.pec_build import PecProvider, transport_envelope
from handlers.formats.sdi_build import SdiFile, build_sdi_file, file_hash
from handlers.formats.sdi_mail import sdi_mail
from handlers.formats.sdi_types import SdiFlow
from handlers.formats.sig_common import Pkcs12Signer
from tests.handlers.formats.fatturapa import factory

SDI = "sdi03@pec.fatturapa.it"


def envelopes(count: int, supplier_signer: Pkcs12Signer, sogei: PecProvider, *, user: str,
              start: int = 0, delivery: str = "") -> Iterator[bytes]:
    """``count`` deliveries of distinct invoices numbered from ``start`` (a generator: low RSS).

    ``delivery`` tells two PEC envelopes of the same SdI message apart (a redelivery).
    """
    when = dt.datetime.now(dt.UTC)
    for n in range(start, start + count):
        invoice = factory.invoice(factory.body(numero=f"B{n}"), codice="0000000")
        p7m = sign_cades_bes(write(invoice), supplier_signer, signing_time=when)
        name = build_invoice_file_name("IT", "01234567890", n + 1, ".xml.p7m")
        record = FileRecord(str(100_000 + n), name, "fornitore@pec.bench.test", SdiFlow.B2B,
                            when, recipient=user, codice="0000000", formato="FPR12",
                            file_hash=file_hash(p7m))
        files = [build_sdi_file(mt(record, str(n + 1)), naming_name(record), 1, None,
                                signing_time=when), SdiFile(name, p7m)]
        original = sdi_mail(files, sdi_address=SDI, to=user, message_id=f"bench.{n}@sdi",
                            when=when)
        yield transport_envelope(original, sogei, identificativo=f"opec.bench.{n}{delivery}@sogei",
                                 when=when)
