"""Tests of the chat bot, driven over HTTP against the fake Bot API."""
