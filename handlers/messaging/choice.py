"""Who gets a campaign, and over which channel: segments, consent, opt-out and fallback.

A campaign names one channel or an ordered preference (e.g. PEC, else e-mail, else registered
mail). A member gets the first channel they have an address for, did not opt out of and did
not refuse consent for; when that channel fails for good the next usable one is tried.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Segment:
    """A tag filter: all of ``tags_all``, at least one of ``tags_any``, none of ``tags_none``."""

    tags_all: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    tags_none: frozenset[str] = frozenset()

    def matches(self, tags: Collection[str]) -> bool:
        """Tell whether a member with ``tags`` is in the segment."""
        have = set(tags)
        return (
            self.tags_all <= have
            and (not self.tags_any or bool(self.tags_any & have))
            and not (self.tags_none & have)
        )

    def to_json(self) -> dict[str, list[str]]:
        """The segment as stored with the campaign."""
        return {
            "tags_all": sorted(self.tags_all),
            "tags_any": sorted(self.tags_any),
            "tags_none": sorted(self.tags_none),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[str]] | None) -> Segment:
        """Read a stored segment (None: everybody)."""
        data = data or {}
        return cls(
            frozenset(data.get("tags_all", ())),
            frozenset(data.get("tags_any", ())),
            frozenset(data.get("tags_none", ())),
        )


@dataclass(frozen=True, slots=True)
class Reachability:
    """What the Albo says about one member: addresses, consent and opt-outs per channel."""

    addresses: Mapping[str, str]
    consent: Mapping[str, bool] = field(default_factory=dict)
    opted_out: frozenset[str] = frozenset()

    def why_not(self, channel: str) -> str | None:
        """Return why ``channel`` cannot reach the member, or None when it can."""
        if channel in self.opted_out:
            return f"{channel}: opted out"
        if self.consent.get(channel) is False:
            return f"{channel}: no consent"
        if not self.addresses.get(channel):
            return f"{channel}: no address"
        return None


@dataclass(frozen=True, slots=True)
class Choice:
    """The channel picked (None: nobody to send to) and why the earlier ones were skipped."""

    channel: str | None
    skipped: tuple[str, ...]


def choose(preference: Sequence[str], who: Reachability, *, after: str | None = None) -> Choice:
    """Pick the first usable channel in ``preference`` (after ``after``, for a fallback)."""
    start = preference.index(after) + 1 if after in preference else 0
    skipped: list[str] = []
    for channel in preference[start:]:
        reason = who.why_not(channel)
        if reason is None:
            return Choice(channel, tuple(skipped))
        skipped.append(reason)
    return Choice(None, tuple(skipped))
