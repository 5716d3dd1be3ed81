"""Ingress adapters: turn transport events (IMAP mailboxes, LMTP deliveries) into inbox rows."""
