"""Pure codecs for the formats pecora speaks: FatturaPA, SdI messages, PEC envelopes, CAdES, XAdES."""
