"""Tests of the conservazione use-cases (daemon/archive) and the archive CLI."""
