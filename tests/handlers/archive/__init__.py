"""Tests of the pure conservazione code (manifest, SInCRO index, chain, retention)."""
