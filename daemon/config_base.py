"""The building blocks every configuration table uses: strict frozen models, secret references.

Area settings (``config_archive.py``, ``config_invoicing.py``, ...) import from here, and
``config.py`` assembles them into `Settings`; importing ``config.py`` from an area module would
be circular.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """Where a secret comes from: an environment variable, a systemd credential or a file."""

    env: str | None = None
    credential: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(x is not None for x in (self.env, self.credential, self.file)) != 1:
            raise ValueError("give exactly one of env, credential, file")
        return self

    def resolve(self) -> str:
        """Read the secret now; raise `ConfigError` naming the source (never the value)."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"secret: environment variable {self.env} is not set")
            return value
        if self.credential is not None:
            base = os.environ.get("CREDENTIALS_DIRECTORY")
            if not base:
                raise ConfigError(
                    f"secret: credential {self.credential!r} needs CREDENTIALS_DIRECTORY "
                    "(systemd LoadCredential=)"
                )
            path = Path(base) / self.credential
        else:
            assert self.file is not None
            path = self.file
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"secret: cannot read {path}: {exc.strerror}") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


Port = Annotated[int, Field(ge=1, le=65535)]
Security = Literal["tls", "starttls", "plain"]
