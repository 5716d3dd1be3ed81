"""Tests of the legal archive's store side, on both archive backends and both databases."""
