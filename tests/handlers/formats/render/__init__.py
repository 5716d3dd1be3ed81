"""Tests of the invoice renderers (HTML, PDF)."""
