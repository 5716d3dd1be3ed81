"""Fixtures for the ingress protocol tests: a real Dovecot (tests/support/dovecot.py)."""

from tests.support.dovecot import dovecot, mail_user

__all__ = ["dovecot", "mail_user"]
