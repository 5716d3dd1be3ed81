"""Tests of mass messaging (issue 8): store, runners, channels, fakes, CLI, crash."""
