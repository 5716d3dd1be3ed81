"""WORM backends: nothing under retention is deleted or overwritten through pecora; on S3 the
server itself refuses (Object Lock COMPLIANCE on a real Ceph RGW)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from store.archive import sha256_hex
from store.archive_s3 import S3ObjectLockArchive
from store.archive_worm import RetainedFilesystemArchive, RetentionActive, WormArchive

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LATER = NOW + dt.timedelta(days=2)


async def test_delete_under_retention_is_refused(worm: WormArchive) -> None:
    sha = await worm.put_retained(b"fattura", LATER)
    with pytest.raises(RetentionActive):
        await worm.delete(sha, now=NOW)
    assert await worm.get(sha) == b"fattura"


async def test_retention_is_extended_never_shortened(worm: WormArchive) -> None:
    sha = await worm.put_retained(b"ricevuta", LATER)
    await worm.put_retained(b"ricevuta", NOW + dt.timedelta(days=1))  # shorter: ignored
    assert await worm.retention(sha) == LATER
    await worm.put_retained(b"ricevuta", LATER + dt.timedelta(days=1))
    assert await worm.retention(sha) == LATER + dt.timedelta(days=1)


async def test_overwrite_is_impossible_by_name(worm: WormArchive) -> None:
    sha = await worm.put_retained(b"originale", LATER)
    assert await worm.put_retained(b"originale", LATER) == sha  # same bytes: no-op
    assert await worm.exists(sha) and not await worm.exists(sha256_hex(b"altro"))
    assert await worm.get(sha) == b"originale"


async def test_filesystem_files_are_read_only_and_deletable_after_retention(
    tmp_path: object,
) -> None:
    from pathlib import Path

    fs = RetainedFilesystemArchive(Path(str(tmp_path)) / "a")
    sha = await fs.put_retained(b"scaduto", NOW - dt.timedelta(days=1))
    assert stat.S_IMODE(fs.path_of(sha).stat().st_mode) == 0o444
    await fs.delete(sha, now=NOW)  # retention over: pecora may delete
    assert not await fs.exists(sha)


async def test_rgw_refuses_deleting_a_locked_version_or_shortening_it(
    rgw_archive: S3ObjectLockArchive,
) -> None:
    s3, bucket = rgw_archive.client, rgw_archive.bucket
    sha = await rgw_archive.put_retained(b"conservato", LATER)
    key = rgw_archive.key_of(sha)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] == LATER
    version = head["VersionId"]
    for attempt in (
        lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version),
        lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=version,
                                 BypassGovernanceRetention=True),
        lambda: s3.put_object_retention(
            Bucket=bucket, Key=key, VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": NOW + dt.timedelta(hours=1)}),
        lambda: s3.put_object_retention(
            Bucket=bucket, Key=key, VersionId=version,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": LATER}),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # A plain delete only hides it behind a marker; the locked version is intact.
    s3.delete_object(Bucket=bucket, Key=key)
    kept = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    assert kept == b"conservato"


async def test_rgw_bucket_without_object_lock_is_refused(rgw_archive: S3ObjectLockArchive) -> None:
    plain = S3ObjectLockArchive(rgw_archive.client, rgw_archive.bucket + "-plain")
    rgw_archive.client.create_bucket(Bucket=plain.bucket)
    from store.archive import ArchiveError

    with pytest.raises(ArchiveError, match="Object Lock"):
        await plain.ensure_bucket()


def test_retention_record_is_durable(tmp_path: Path, fsynced: list[str]) -> None:
    """The record is fsynced, then its directory after the rename (crash-safe like the item)."""
    worm = RetainedFilesystemArchive(tmp_path)
    synced = fsynced
    sha = worm.put_retained_blocking(b"conservato", LATER)
    record = worm._retention_path(sha)
    # the record's content under its temporary name, before the rename
    assert any(p.startswith(f"{record.parent}/.tmp-") for p in synced)
    assert str(record.parent) in synced  # its name
    assert worm.retention_blocking(sha) == LATER
    assert [p.name for p in record.parent.iterdir()] == [record.name]  # no temp left
