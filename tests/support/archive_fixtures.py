"""Fixtures of the archive tests: each WORM backend (filesystem, Ceph RGW) and a sandbox key.

Registered by the conftest of each archive test folder (tests/store/archive, tests/daemon/archive).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.formats.sandbox_pki import make_sandbox_pki
from handlers.formats.sig_common import Pkcs12Signer
from store.archive_s3 import S3ObjectLockArchive
from store.archive_worm import RetainedFilesystemArchive, WormArchive
from tests.support.rgw import ACCESS_KEY, SECRET_KEY, Rgw, rgw

__all__ = ["conservation_key", "rgw", "rgw_archive", "worm"]


@pytest.fixture(scope="session")
def conservation_key() -> tuple[bytes, Pkcs12Signer]:
    """A throw-away conservation key (sandbox CA PEM, signer)."""
    return make_sandbox_pki("pecora conservazione test")


@pytest.fixture
def rgw_archive(rgw: Rgw) -> S3ObjectLockArchive:
    """An empty Object Lock bucket on the session's RGW."""
    store = S3ObjectLockArchive.connect(rgw.endpoint, ACCESS_KEY, SECRET_KEY,
                                        rgw.new_bucket_name())
    store._ensure_bucket()  # sync: this fixture is also requested by name from `worm`
    return store


@pytest.fixture(params=["fs", "rgw"])
def worm(request: pytest.FixtureRequest, tmp_path: Path) -> WormArchive:
    """Each WORM backend in turn."""
    if request.param == "fs":
        return RetainedFilesystemArchive(tmp_path / "archive")
    archive: S3ObjectLockArchive = request.getfixturevalue("rgw_archive")
    return archive
