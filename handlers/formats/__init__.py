"""Pure codecs: FatturaPA, SdI messages, PEC envelopes, CAdES, XAdES (no I/O, no SQL)."""
