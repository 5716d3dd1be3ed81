"""Outbound channels: the only code that sends anything, called only by the outbox runner."""
