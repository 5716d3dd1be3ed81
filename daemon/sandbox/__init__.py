"""The sandbox: a local SdI and PEC providers on loopback, so nothing ever leaves the machine."""
