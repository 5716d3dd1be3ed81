"""What the ``[archive]`` table opens: the WORM backend (filesystem or S3 Object Lock)."""

from __future__ import annotations

from daemon.config import ConfigError, Settings
from daemon.config_archive import ArchiveSettings
from store.archive_s3 import S3ObjectLockArchive
from store.archive_worm import RetainedFilesystemArchive, WormArchive


def open_archive(settings: Settings, cfg: ArchiveSettings) -> WormArchive:
    """Open the configured WORM backend."""
    if cfg.backend == "s3":
        if cfg.s3 is None:
            raise ConfigError("archive.backend = 's3' needs an [archive.s3] table")
        return S3ObjectLockArchive.connect(
            cfg.s3.endpoint,
            cfg.s3.access_key.resolve(),
            cfg.s3.secret_key.resolve(),
            cfg.s3.bucket,
            region=cfg.s3.region,
            prefix=cfg.s3.prefix,
        )
    return RetainedFilesystemArchive(settings.archive_dir)
