"""The ``[archive]`` configuration table and what it opens: the backend, the key, backups.

Until ``Settings`` carries an ``archive`` field (wiring step for daemon/config.py), `load`
splits the table off the TOML before the rest is validated, so both ways give the same result.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field

from daemon.config import ConfigError, SecretRef, Settings, _Model, parse_settings
from handlers.archive.sincro import Agents
from handlers.formats.sig_common import Pkcs12Signer
from handlers.formats.trust import TrustStore
from store.archive_s3 import S3ObjectLockArchive
from store.archive_worm import RetainedFilesystemArchive, WormArchive


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


def archive_settings(
    settings: Settings, fallback: ArchiveSettings | None = None
) -> ArchiveSettings:
    """The ``[archive]`` table: from ``Settings`` once wired, else what `load` split off."""
    value = getattr(settings, "archive", None)
    return value if isinstance(value, ArchiveSettings) else fallback or ArchiveSettings()


def open_archive(settings: Settings, cfg: ArchiveSettings) -> WormArchive:
    """Open the configured WORM backend."""
    if cfg.backend == "s3":
        if cfg.s3 is None:
            raise ConfigError("archive.backend = 's3' needs an [archive.s3] table")
        return S3ObjectLockArchive.connect(
            cfg.s3.endpoint, cfg.s3.access_key.resolve(), cfg.s3.secret_key.resolve(),
            cfg.s3.bucket, region=cfg.s3.region, prefix=cfg.s3.prefix,
        )
    return RetainedFilesystemArchive(settings.archive_dir)


def load(path: Path | None) -> tuple[Settings, ArchiveSettings]:
    """Load the configuration file, splitting off ``[archive]`` if `Settings` lacks it."""
    if path is None and (env := os.environ.get("PECORA_CONFIG")):
        path = Path(env)
    if path is None:
        return parse_settings({}), ArchiveSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    table = data.get("archive", {})
    if "archive" not in Settings.model_fields:
        data.pop("archive", None)
    try:
        cfg = ArchiveSettings.model_validate(table)
    except ValueError as exc:
        raise ConfigError(f"{path}: archive: {exc}") from None
    return parse_settings(data, source=str(path)), cfg
