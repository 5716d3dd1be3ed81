"""Pure decision logic: bytes and dataclasses in, facts and effects out (no I/O, no SQL)."""
