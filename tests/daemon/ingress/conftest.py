"""Fixtures for the ingress protocol tests come from tests/conftest.py (a real Dovecot)."""
