"""Fixtures for channel tests: a trusted test CA and a live SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.support.smtp_sink import SmtpSink


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
async def sink(ca: trustme.CA) -> AsyncIterator[SmtpSink]:
    server = SmtpSink(ca)
    await server.start()
    yield server
    await server.stop()
