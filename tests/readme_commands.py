"""The commands the docs show: every shell code block of README.md and docs/install.md (and every inline
`netwatt ...` span) split into simple commands, for tests/test_readme.py.

A shell function that ends in ``netwatt "$@"`` (docs/install.md's ``run_as_service``) counts as netwatt.
Heredoc bodies are text, not commands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", ROOT / "docs" / "install.md")
SHELL_BLOCK = re.compile(r"^ *```(sh|bash|shell|console)\n(.*?)^ *```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`(netwatt [^`]+)`(?!`)")
SEPARATORS = {"&&", "||", "|", ";", "&", "(", ")"}
REDIRECTIONS = {">", ">>", "<", "<<", "2>", "&>", ">&"}
PREFIXES = {"sudo", "exec", "env", "time", "nice"}


@dataclass(frozen=True)
class Command:
    """One simple command: its words (program first) and where the docs show it."""

    words: tuple[str, ...]
    where: str              # file:line
    inline: bool = False    # from prose, not a code block

    @property
    def program(self) -> str:
        return self.words[0]


def shell_lines(text: str) -> list[tuple[int, str]]:
    """(line number, logical line) of every shell block: continuations joined, heredoc bodies dropped."""
    lines: list[tuple[int, str]] = []
    for block in SHELL_BLOCK.finditer(text):
        first = text.count("\n", 0, block.start(2)) + 1
        pending = ""
        pending_at = 0
        terminator: str | None = None
        for offset, raw in enumerate(block.group(2).splitlines()):
            line = raw.strip()
            if terminator is not None:
                if line == terminator:
                    terminator = None
                continue
            if not pending:
                pending_at = first + offset
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            logical = pending + line
            pending = ""
            if heredoc := re.search(r"<<-?\s*['\"]?(\w+)['\"]?", logical):
                terminator = heredoc.group(1)
            # a function definition's braces are not commands (its body lines are)
            logical = re.sub(r"^\w+\(\)\s*\{\s*|^\}\s*$", "", logical)
            if logical and not logical.startswith("#"):
                lines.append((pending_at, logical))
    return lines


def split_commands(line: str) -> list[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if token in SEPARATORS:
            commands.append([])
        elif token in REDIRECTIONS or re.fullmatch(r"\d?>>?|<<-?|&>", token):
            skip_next = True
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def strip_prefixes(words: list[str]) -> list[str]:
    while words and (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]) or words[0] in PREFIXES):
        words = words[1:]
    return words


def netwatt_aliases(text: str) -> set[str]:
    """Shell functions whose body runs netwatt with the function's arguments."""
    return set(re.findall(r"^(\w+)\(\)\s*\{[^}]*netwatt\"?\s+\"\$@\"", text, re.M | re.S))


def commands(path: Path) -> list[Command]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT)
    found: list[Command] = []
    for number, line in shell_lines(text):
        for split in split_commands(line):
            if words := strip_prefixes(split):
                found.append(Command(tuple(words), f"{name}:{number}"))
    for match in INLINE.finditer(text):
        number = text.count("\n", 0, match.start()) + 1
        # prose writes alternatives as a|b and options as [x]; a pipe stands alone between spaces
        # (`\|` inside a table cell), and only the first command of such a pipeline is netwatt
        span = match.group(1).replace(" \\| ", " | ").split(" | ")[0]
        found.append(Command(tuple(shlex.split(span)), f"{name}:{number}", inline=True))
    return found


def all_commands() -> tuple[list[Command], set[str]]:
    aliases: set[str] = set()
    found: list[Command] = []
    for path in DOCS:
        aliases |= netwatt_aliases(path.read_text(encoding="utf-8"))
        found += commands(path)
    return found, aliases


def is_netwatt(command: Command, aliases: set[str]) -> bool:
    return Path(command.program).name == "netwatt" or command.program in aliases


def placeholder(word: str) -> bool:
    """A word that stands for something (FILE, K/N, a|b alternatives, [optional], ...)."""
    return (any(c in word for c in "[]|<>") or word.endswith("...") or word == "..."
            or bool(re.fullmatch(r"[A-Z][A-Z0-9_-]{2,}|[A-Z]+/[A-Z]+", word)) or "YYYY" in word or "$" in word)
