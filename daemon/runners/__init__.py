"""Runners: long-lived tasks that drain the inbox and the outbox."""
