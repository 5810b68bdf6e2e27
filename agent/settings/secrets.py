"""Secret references: ``env:NAME``, ``file:PATH``, ``credential:NAME`` (systemd LoadCredential=).

A resolved secret prints as its reference, never as its value, so it cannot leak through logs,
error messages, ``repr`` or ``check-config --show``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from agent.yamlfile.section import Section

SCHEMES = ("env", "file", "credential", "plain")


class SecretError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Secret:
    reference: str
    value: str = field(repr=False, compare=False)

    def __str__(self) -> str:
        return f"<secret {self.reference}>"

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"

    def reveal(self) -> str:
        return self.value


def resolve_secret(reference: str, *, environ: dict[str, str] | None = None,
                   base_dir: Path | None = None) -> Secret:
    """Resolve a reference. ``plain:TEXT`` is for values that are not secret (a lab community)."""
    env = os.environ if environ is None else environ
    scheme, sep, rest = reference.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise SecretError(
            "must be a secret reference (env:NAME, file:PATH or credential:NAME), never the secret itself;"
            " use plain:VALUE only for values that are not secret")
    if scheme == "env":
        if rest not in env:
            raise SecretError(f"environment variable {rest} is not set")
        return Secret(reference, env[rest])
    if scheme == "plain":
        return Secret("plain:" + "*" * 3, rest)
    if scheme == "credential":
        directory = env.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretError(f"credential {rest!r}: $CREDENTIALS_DIRECTORY is not set "
                              "(add LoadCredential= to the systemd unit)")
        if "/" in rest:
            raise SecretError(f"credential name {rest!r} must not contain '/'")
        path = Path(directory) / rest
    else:
        path = Path(rest)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretError(f"cannot read {scheme} {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:       # never the bytes themselves: they are the secret
        raise SecretError(f"{scheme} {str(path)!r} is not UTF-8 text (invalid byte at offset {exc.start})") from None
    value = text.rstrip("\r\n")
    if not value:
        raise SecretError(f"{scheme} {str(path)!r} is empty")
    return Secret(reference, value)


def secret_at(s: Section, key: str, *, environ: dict[str, str], base_dir: Path | None) -> Secret:
    """The secret a config key refers to; an unresolvable reference is an error naming file, line and key."""
    try:
        return resolve_secret(s.text(key), environ=environ, base_dir=base_dir)
    except SecretError as exc:
        raise s.error(key, str(exc)) from None
