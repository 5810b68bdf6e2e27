"""One exception root; every error a user can cause names where it came from."""

from __future__ import annotations


class NetwattError(Exception):
    """Root of every error netwatt raises on purpose."""


class ConfigError(NetwattError):
    """Bad configuration or profile: names the file, the line and the key path."""

    suggestion: str = ""            # an unknown key's likely intended spelling ("did you mean")

    def __init__(self, message: str, *, file: str = "", line: int | None = None, key: str = "") -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigErrors(ConfigError):
    """Several independent problems found in one pass, reported together."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors), file=errors[0].file, line=errors[0].line)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class UsageError(NetwattError):
    """A bad command-line argument (a date, a choice): exit status 2, like argparse's own."""
