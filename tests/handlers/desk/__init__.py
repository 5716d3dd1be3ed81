"""Tests of the support desk's pure parts."""
