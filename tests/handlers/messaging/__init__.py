"""Tests of the pure mass-messaging parts (issue 8)."""
