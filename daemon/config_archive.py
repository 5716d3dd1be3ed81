"""The ``[archive]`` table: conservazione backend, retention, agents, conservation key, backups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from daemon.config_base import ConfigError, SecretRef, _Model
from handlers.archive.sincro import Agents
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore

if TYPE_CHECKING:
    from daemon.config import Settings


class S3Settings(_Model):
    """An S3 API with Object Lock (bucket created with it; COMPLIANCE per object)."""

    endpoint: str
    bucket: str
    access_key: SecretRef
    secret_key: SecretRef
    region: str = "us-east-1"
    prefix: str = "archive/"


class ArchiveSettings(_Model):
    """Conservazione: backend, retention per class, agents, conservation key, backups."""

    backend: Literal["filesystem", "s3"] = "filesystem"
    s3: S3Settings | None = None
    retention_years: dict[str, int] = Field(default_factory=dict)  # class -> years (default 10)
    responsible: str = "responsabile della conservazione"
    producer: str = "pecora"
    signing_key: Path | None = None  # PKCS#12 holding the conservation key
    signing_password: SecretRef | None = None
    trust_anchors: list[Path] = Field(default_factory=list)  # CA(s) of the conservation key
    backup_dir: Path | None = None  # default: <data_dir>/../pecora-backups (outside data_dir)
    backup_keep_days: int = Field(default=90, ge=1)
    package_max_units: int = Field(default=10_000, ge=1)

    def agents(self) -> Agents:
        """The agents named in package indexes."""
        return Agents(responsible=self.responsible, producer=self.producer)

    def signer(self) -> Pkcs12Signer:
        """Load the conservation key (raise `ConfigError` when not configured)."""
        if self.signing_key is None:
            raise ConfigError("archive.signing_key: no conservation key configured")
        password = self.signing_password.resolve().encode() if self.signing_password else None
        try:
            return Pkcs12Signer.from_bytes(self.signing_key.read_bytes(), password)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"archive.signing_key: {self.signing_key}: {exc}") from None

    def trust(self) -> TrustStore | None:
        """The trust store to check package signatures with (None: integrity only)."""
        if not self.trust_anchors:
            return None
        return TrustStore.from_bytes([p.read_bytes() for p in self.trust_anchors])

    def backups(self, settings: Settings) -> Path:
        """Where backups go: outside the data dir, so wiping it does not lose them."""
        data = settings.daemon.data_dir
        return self.backup_dir or data.parent / f"{data.name}-backups"
