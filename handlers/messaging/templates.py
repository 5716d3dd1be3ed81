"""Render a campaign's subject and body for one recipient, in a Jinja2 sandbox.

Templates come from operators, so they run in `ImmutableSandboxedEnvironment` (no attribute
tricks, no mutation of the fields) with `StrictUndefined`: a misspelt field is an error the
preview reports, never an empty string in a legal communication.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)
# Keep rendered text bounded: a loop in a template must not eat the daemon's memory.
MAX_RENDERED = 1_000_000


class TemplateProblem(ValueError):
    """A template cannot be compiled or rendered; the message says where."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """The subject and body one recipient gets."""

    subject: str
    body: str


def check(source: str, what: str = "template") -> None:
    """Compile ``source``; raise `TemplateProblem` on a syntax error."""
    try:
        _ENV.parse(source)
    except TemplateError as exc:
        raise TemplateProblem(f"{what}: {exc}") from exc


# A campaign renders the same two sources for every recipient: compiling them (parse and
# generate Python code) costs some twenty times the render itself, so compile each once.
# Bounded: a long-running daemon sees an unbounded number of templates over its life.
@lru_cache(maxsize=128)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def _render(source: str, fields: Mapping[str, Any], what: str) -> str:
    try:
        text = _compiled(source).render(**fields)
    except TemplateError as exc:
        raise TemplateProblem(f"{what}: {exc}") from exc
    if len(text) > MAX_RENDERED:
        raise TemplateProblem(f"{what}: rendered text over {MAX_RENDERED} characters")
    return text


def render(subject: str, body: str, fields: Mapping[str, Any]) -> Rendered:
    """Render both parts with ``fields``; raise `TemplateProblem` naming the failing part."""
    rendered_subject = _render(subject, fields, "subject")
    if "\n" in rendered_subject.strip() or "\r" in rendered_subject:
        raise TemplateProblem("subject: renders to more than one line")
    return Rendered(rendered_subject.strip(), _render(body, fields, "body"))


def sms_segments(text: str) -> int:
    """How many SMS a text costs: GSM-7 160/153 per part, UCS-2 70/67 (3GPP TS 23.038)."""
    gsm = set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    extended = set("^{}\\[~]|€")
    if all(c in gsm or c in extended for c in text):
        units = sum(2 if c in extended else 1 for c in text)
        return 1 if units <= 160 else -(-units // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)
