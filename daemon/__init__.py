"""The pecora daemon: process lifecycle, configuration, ingress adapters, runners and the CLI."""
