"""Registers the archive fixtures (WORM backends incl. a session Ceph RGW, conservation key)."""

from tests.support.archive_fixtures import conservation_key, rgw, rgw_archive, worm

__all__ = ["conservation_key", "rgw", "rgw_archive", "worm"]
