"""Appliers: one module per feature area, mapping its effects to store calls."""
