"""Steps that end a pipeline by holding the item for an operator, with the reason why."""

from __future__ import annotations

from handlers.envelope import MalformedEnvelope
from handlers.mail import MailFacts, TooLarge, Unreadable
from handlers.registry import handler
from handlers.work import Disposition, Stop, Work


@handler("quarantine-oversize")
def quarantine_oversize(work: Work) -> Work | Stop:
    """Hold a message larger than the size policy (it is kept raw in the archive)."""
    big = work.require(TooLarge)
    return work.stop(
        Disposition.QUARANTINE,
        f"oversize: {big.size} bytes, over the limit of {big.limit} bytes",
    )


@handler("quarantine-unreadable")
def quarantine_unreadable(work: Work) -> Work | Stop:
    """Hold a message that is not readable mail."""
    return work.stop(Disposition.QUARANTINE, f"unreadable: {work.require(Unreadable).reason}")


@handler("hold-for-operator")
def hold_for_operator(work: Work) -> Work | Stop:
    """Hold a message no pipeline claims (unknown sender, unknown kind)."""
    mail = work.fact(MailFacts)
    what = (
        "a PEC transport envelope" if mail and mail.x_trasporto else "not a message pecora handles"
    )
    sender = mail.sender if mail else None
    return work.stop(Disposition.QUARANTINE, f"no route: {what} (from {sender or 'unknown'})")


@handler("quarantine-malformed-envelope")
def quarantine_malformed_envelope(work: Work) -> Work | Stop:
    """Hold a message that claims to be a PEC envelope but cannot be read as one."""
    reason = work.require(MalformedEnvelope).reason
    return work.stop(Disposition.QUARANTINE, f"malformed PEC envelope: {reason}")


@handler("quarantine-anomaly")
def quarantine_anomaly(work: Work) -> Work | Stop:
    """Hold an anomaly envelope: mail that is not certified, whatever it claims to carry."""
    mail = work.fact(MailFacts)
    sender = mail.sender if mail else None
    return work.stop(
        Disposition.QUARANTINE,
        f"PEC anomaly envelope (not certified mail) from {sender or 'unknown'}",
    )
