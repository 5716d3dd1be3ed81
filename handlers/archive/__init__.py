"""Conservazione a norma, the pure part: manifests, SInCRO-like indexes, hash chain, retention.

Everything here is CPU only (no I/O, no SQL, no asyncio); `store/archive_*` persists what these
functions compute (domain.md §6).
"""
