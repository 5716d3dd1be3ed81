"""Locate the shared reference files (../shared/ref) that tests read in place.

The files are public test data kept outside the repository. Without them a test skips with a
clear reason; under CI (``CI=true``) their absence is a failure, so CI can never go green by
skipping the checks against reality.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[2].parent / "shared" / "ref"
REF_DIR = Path(os.environ.get("PECORA_REF_DIR", str(_DEFAULT)))


def ref_path(*parts: str) -> Path:
    """Return ``REF_DIR/parts``; skip the test (fail under CI) when it is missing."""
    path = REF_DIR.joinpath(*parts)
    if not path.exists():
        reason = f"reference file {path} not found (../shared/ref is absent)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " and CI=true: reference data is required in CI")
        pytest.skip(reason)
    return path


def ref_bytes(*parts: str) -> bytes:
    """Return the bytes of one reference file (see `ref_path`)."""
    return ref_path(*parts).read_bytes()
