"""`WormArchive` on any S3 API with Object Lock in COMPLIANCE mode (issue 7 §5).

The bucket must be created with Object Lock (it cannot be enabled later, and enabling it turns
versioning on). Every object is written with ``ObjectLockMode=COMPLIANCE`` and its own
``RetainUntilDate`` computed from the document's retention (domain.md §6.1): in COMPLIANCE mode
no user, root account included, can delete a locked version or shorten its retention before
that date; the date can only be extended. A plain DELETE only adds a delete marker, which
`get` reports as missing and verify names; the locked version itself stays.

Client: **boto3 in a worker thread** (`asyncio.to_thread`), not aiobotocore. The archive is
written a few times per invoice, never on a latency-critical path, and the filesystem backend
already uses worker threads; boto3 clients are thread-safe, documented, and carry every Object
Lock call. aiobotocore pins one exact botocore release per version, which would tie pecora's
whole dependency set to its release cadence for no gain here.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
from typing import Any

from store.archive import ArchiveError, ItemCorrupt, ItemMissing, _check_name, sha256_hex
from store.archive_worm import RetentionActive

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


class S3ObjectLockArchive:
    """Content-addressed objects ``PREFIX/ab/cd/<sha256>`` in an Object Lock bucket."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "archive/",
        default_retention: dt.timedelta = dt.timedelta(days=3653),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.default_retention = default_retention

    @classmethod
    def connect(
        cls,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        region: str = "us-east-1",
        prefix: str = "archive/",
    ) -> S3ObjectLockArchive:
        """Build a path-style boto3 client for ``endpoint`` and wrap it."""
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=32,
                # RGW (and older S3 APIs) do not all accept the newer default CRC checksums.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, bucket, prefix=prefix)

    def key_of(self, sha256: str) -> str:
        """Return the object key of the item named ``sha256``."""
        name = _check_name(sha256)
        return f"{self.prefix}{name[:2]}/{name[2:4]}/{name}"

    # -- bucket ----------------------------------------------------------------------------

    async def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock, or check that an existing one has it on."""
        await asyncio.to_thread(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
        try:
            cfg = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except ClientError as exc:
            raise ArchiveError(f"bucket {self.bucket} has no Object Lock: {exc}") from exc
        if cfg["ObjectLockConfiguration"].get("ObjectLockEnabled") != "Enabled":
            raise ArchiveError(f"bucket {self.bucket} has no Object Lock enabled")

    # -- Archive / WormArchive -------------------------------------------------------------

    async def put(self, data: bytes) -> str:
        """See `Archive.put` (locked for the default retention)."""
        until = dt.datetime.now(dt.UTC) + self.default_retention
        return await self.put_retained(data, until)

    async def put_retained(self, data: bytes, retain_until: dt.datetime) -> str:
        """See `WormArchive.put_retained`."""
        return await asyncio.to_thread(self._put, data, retain_until)

    def _put(self, data: bytes, until: dt.datetime) -> str:
        digest = sha256_hex(data)
        key = self.key_of(digest)
        head = self._head(key)
        if head is not None:
            # Same name, same bytes: write-once means nothing to store. A longer retention
            # (the same attachment in a newer document) may extend the lock; never shorten.
            current = head.get("ObjectLockRetainUntilDate")
            if current is None or until > current:
                self.client.put_object_retention(
                    Bucket=self.bucket, Key=key, VersionId=head["VersionId"],
                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
                )
            return digest
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - S3 integrity
            Metadata={"sha256": digest},
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
        )
        return digest

    def _head(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        extra = {"VersionId": version} if version else {}
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise ArchiveError(f"S3 HEAD {key}: {exc}") from exc
        return head

    async def get(self, sha256: str) -> bytes:
        """See `Archive.get`."""
        return await asyncio.to_thread(self._get, sha256)

    def _get(self, sha256: str) -> bytes:
        from botocore.exceptions import ClientError

        key = self.key_of(sha256)
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise ItemMissing(f"archive item {sha256} is missing") from exc
            raise ArchiveError(f"S3 GET {key}: {exc}") from exc
        data: bytes = obj["Body"].read()
        if sha256_hex(data) != sha256:
            raise ItemCorrupt(f"archive item {sha256} does not match its hash")
        return data

    async def exists(self, sha256: str) -> bool:
        """See `Archive.exists`."""
        return await asyncio.to_thread(lambda: self._head(self.key_of(sha256)) is not None)

    async def retention(self, sha256: str) -> dt.datetime | None:
        """See `WormArchive.retention`."""
        head = await asyncio.to_thread(self._head, self.key_of(sha256))
        if head is None:
            return None
        until: dt.datetime | None = head.get("ObjectLockRetainUntilDate")
        return until

    async def delete(self, sha256: str, *, now: dt.datetime) -> None:
        """See `WormArchive.delete` (the server refuses too, whatever pecora decides)."""
        until = await self.retention(sha256)
        if until is not None and now < until:
            raise RetentionActive(f"archive item {sha256} is retained until {until.isoformat()}")
        await asyncio.to_thread(self._delete_versions, self.key_of(sha256))

    def _delete_versions(self, key: str) -> None:
        listing = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        for version in (*listing.get("Versions", []), *listing.get("DeleteMarkers", [])):
            if version["Key"] == key:
                self.client.delete_object(
                    Bucket=self.bucket, Key=key, VersionId=version["VersionId"]
                )
