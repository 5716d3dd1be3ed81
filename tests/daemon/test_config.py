"""Configuration: defaults, the documented example, errors that name key and file, secrets."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from daemon.config import ConfigError, SecretRef, load_settings, parse_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "pecora.example.toml"


def test_no_file_means_embedded_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PECORA_CONFIG", raising=False)
    monkeypatch.setenv("PECORA_DATA_DIR", str(tmp_path))
    settings = load_settings(None)
    assert settings.database_url() == f"sqlite+aiosqlite:///{tmp_path / 'pecora.db'}"
    assert settings.lmtp.host == "127.0.0.1"
    assert settings.archive_dir == tmp_path / "archive"


def test_example_documents_every_key_and_is_valid() -> None:
    text = EXAMPLE.read_text()
    assert parse_settings(tomllib.loads(text), source=str(EXAMPLE))
    # Uncomment every commented key and table: the full example must validate too.
    full = re.sub(r"^# ((?:\[|[a-z_0-9]+ = ).*)$", r"\1", text, flags=re.M)
    data = tomllib.loads(full)
    with pytest.raises(ConfigError, match=r"sandbox\.enabled is true but real PEC"):
        parse_settings(data, source=str(EXAMPLE))
    data["sandbox"]["enabled"] = False  # real mode, fully configured
    settings = parse_settings(data, source=str(EXAMPLE))
    assert settings.mailboxes["pec-main"].processed_folder == "pecora-processed"
    assert settings.channels["pec-main"].retry.max_attempts == 10
    # and each settings field appears in the example
    for section, model in settings:
        if isinstance(model, dict):
            continue
        for key in type(model).model_fields:
            documented = rf"^#? ?({key} =|\[{section}\.{key}\])"
            assert re.search(documented, text, re.M), f"[{section}] {key} undocumented"


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[lmtp]\nprot = 25\n")
    with pytest.raises(ConfigError, match=r"p\.toml: lmtp\.prot: unknown key"):
        load_settings(path)


def test_invalid_value_names_key(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[mailboxes.pec]\nhost = "h"\nusername = "u"\npassword = { env = "X" }\nport = 0\n'
    )
    with pytest.raises(ConfigError, match=r"mailboxes\.pec\.port"):
        load_settings(path)


def test_clear_text_password_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"mailboxes\.pec\.password"):
        parse_settings(
            {"mailboxes": {"pec": {"host": "h", "username": "u", "password": "hunter2"}}}
        )


def test_listener_off_loopback_needs_tls_and_auth() -> None:
    with pytest.raises(ConfigError, match="not loopback"):
        parse_settings({"lmtp": {"host": "0.0.0.0"}})  # noqa: S104


def test_broken_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[lmtp\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_settings(path)


def test_secrets_resolve_from_env_credentials_and_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PECORA_T_PW", "from-env")
    assert SecretRef(env="PECORA_T_PW").resolve() == "from-env"
    (tmp_path / "imap-password").write_text("from-cred\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert SecretRef(credential="imap-password").resolve() == "from-cred"
    assert SecretRef(file=tmp_path / "imap-password").resolve() == "from-cred"
    monkeypatch.delenv("PECORA_T_PW")
    with pytest.raises(ConfigError, match="PECORA_T_PW is not set"):
        SecretRef(env="PECORA_T_PW").resolve()
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef(env="A", file=tmp_path)


def test_secret_value_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PECORA_T_PW", "hunter2")
    settings = parse_settings(
        {
            "sandbox": {"enabled": False},
            "channels": {"pec": {"kind": "pec"}},
            "mailboxes": {
                "pec": {"host": "h", "username": "u", "password": {"env": "PECORA_T_PW"}}
            },
        }
    )
    assert "hunter2" not in repr(settings)
    assert settings.mailboxes["pec"].password.resolve() == "hunter2"


def test_half_configured_real_mode_is_refused() -> None:
    mailbox = {"host": "h", "username": "u", "password": {"env": "X"}}
    assert parse_settings({"sandbox": {"enabled": False}, "mailboxes": {"pec": mailbox}})
    with pytest.raises(ConfigError, match="half-configured real mode"):
        parse_settings(
            {
                "sandbox": {"enabled": False},
                "lmtp": {"enabled": False},
                "channels": {"pec": {"kind": "pec"}},
            }
        )
    with pytest.raises(ConfigError, match="loopback only"):
        parse_settings({"sandbox": {"host": "192.0.2.1"}})
