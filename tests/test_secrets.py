"""Secret references resolve, and a resolved secret never prints its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings.secrets import SecretError, resolve_secret


def test_env_file_and_credential(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cret-file\n")
    assert resolve_secret("env:X", environ={"X": "s3cret-env"}).reveal() == "s3cret-env"
    assert resolve_secret("file:token", environ={}, base_dir=tmp_path).reveal() == "s3cret-file"
    secret = resolve_secret("credential:token", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert secret.reveal() == "s3cret-file"
    assert "s3cret" not in f"{secret} {secret!r} {[secret]}"


@pytest.mark.parametrize(
    ("reference", "message"),
    [("hunter2", "never the secret itself"), ("env:NOPE", "NOPE is not set"),
     ("credential:x", "CREDENTIALS_DIRECTORY is not set"), ("file:/nonexistent/x", "cannot read"),
     ("vault:x", "must be a secret reference")],
)
def test_unresolvable_references(reference: str, message: str) -> None:
    with pytest.raises(SecretError, match=message):
        resolve_secret(reference, environ={})


def test_plain_values_are_still_redacted_when_printed() -> None:
    secret = resolve_secret("plain:public", environ={})
    assert secret.reveal() == "public"
    assert "public" not in str(secret)
