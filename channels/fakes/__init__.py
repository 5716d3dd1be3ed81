"""Local fake providers (SMS, fax, registered mail) for tests and the sandbox: same HTTP shapes
as the adapters expect, faults on cue, signed delivery reports to a callback URL."""
