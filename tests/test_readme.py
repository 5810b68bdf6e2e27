"""The docs are true: every command README.md and docs/install.md show (shell code blocks and inline
`netwatt ...` spans).

- Every netwatt command names subcommands and options the real parser has (values checked against
  its choices), whatever it is: a command added to the docs later is checked the same way.
- Those that can run here run, against the bundled lab served by snmpsim (a config path becomes the
  lab's config, an unknown device a lab device, a placeholder walk a lab recording) and must exit 0:
  check-config, poll, discover, status, report, factors show, version, print-sample-config.
- The Quick start's first command runs literally (``./netwatt-demo``), with a stand-in venv that is
  this interpreter, so no download is needed; the second (``bash tests/run``) is this suite.
- A script the docs run (``bash tests/run``, ``python3 bench/x.py``) exists.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agent.cli import _parser
from agent.lab import lab_dir
from tests.agent_process import netwatt
from tests.readme_commands import ROOT, Command, all_commands, is_netwatt, placeholder

COMMANDS, ALIASES = all_commands()
NETWATT = [c for c in COMMANDS if is_netwatt(c, ALIASES)]
# (subcommand path) that run offline or against the lab; anything else is flag-checked only
RUNNABLE = {("check-config",), ("poll",), ("discover",), ("status",), ("report",), ("factors", "show"),
            ("version",), ("print-sample-config",)}
LAB_DEVICE = "cisco_asr9901"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parse_words(words: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """Walk the real parser along the words: (the subcommand path, what does not exist)."""
    parser = _parser()
    path: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(words):
        word = words[i].strip("[]")
        i += 1
        if word.startswith("-") and len(word) > 1 and not placeholder(word.split("=")[0]):
            name = word.split("=")[0]
            action = parser._option_string_actions.get(name)
            if action is None:
                problems.append(f"{' '.join(['netwatt', *path])}: no option {name}")
                continue
            if action.nargs == 0 or "=" in word or i >= len(words):
                continue
            value = words[i].strip("[]")
            i += 1
            if action.choices is not None:          # `table|csv|json` in prose: each alternative
                wrong = [v for v in value.split("|") if v not in action.choices]
                problems += [f"{name}: {v!r} is not one of {sorted(action.choices)}" for v in wrong]
            continue
        choices = _subparsers(parser)
        if choices and not placeholder(word):
            if word not in choices:
                problems.append(f"{' '.join(['netwatt', *path])}: no subcommand {word!r}")
                break
            parser = choices[word]
            path.append(word)
    return tuple(path), problems


def _words_after_netwatt(command: Command) -> tuple[str, ...]:
    return command.words[1:]


@pytest.mark.parametrize("command", NETWATT, ids=[f"{c.where} {' '.join(c.words)[:60]}" for c in NETWATT])
def test_every_netwatt_command_in_the_docs_exists(command: Command) -> None:
    path, problems = parse_words(_words_after_netwatt(command))
    assert problems == [], f"{command.where}: {' '.join(command.words)}"
    assert path or command.inline, f"{command.where}: a netwatt command without a subcommand"


def test_the_flag_check_catches_stale_commands() -> None:
    """The check itself can fail: a removed subcommand, option or choice is reported."""
    assert parse_words(("report", "--from", "2026-01-01", "--format", "pdf"))[1] == [
        "--format: 'pdf' is not one of ['csv', 'html', 'json', 'table']"]
    assert parse_words(("poll", "--everything"))[1] == ["netwatt poll: no option --everything"]
    assert parse_words(("collect", "-c", "x"))[1] == ["netwatt: no subcommand 'collect'"]
    assert parse_words(("wifi", "-c", "F", "--format", "json", "plan"))[0] == ("wifi", "plan")


def runnable_words(command: Command, lab_config: Path, scratch: Path) -> list[str] | None:
    """The command as run here (lab stand-ins), or None when it cannot run offline."""
    words = list(_words_after_netwatt(command))
    path, _ = parse_words(tuple(words))
    if path not in RUNNABLE or any(placeholder(w) for w in words):
        return None
    if command.inline and len(words) == len(path):       # prose naming a command, not showing one
        return None
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else ""
        if word in ("-c", "--config"):
            out += [word, value if (ROOT / value).is_file() else str(lab_config)]
            i += 2
        elif word == "--device":
            devices = {p.stem for p in lab_dir().glob("*.snmprec")}
            out += [word, value if value in devices else LAB_DEVICE]
            i += 2
        elif word == "--walk":
            out += [word, value if (ROOT / value).is_file() else str(lab_dir() / f"{LAB_DEVICE}.snmprec")]
            i += 2
        elif word in ("-o", "--output"):
            out += [word, str(scratch / Path(value).name)]
            i += 2
        else:
            out.append(word)
            i += 1
    takes_config = "--config" in _subparser_at(path)._option_string_actions
    if takes_config and not {"-c", "--config"} & set(out) and "--walk" not in out:
        out = [*out[:len(path)], "-c", str(lab_config), *out[len(path):]]
    return out


def _subparser_at(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = _parser()
    for name in path:
        parser = _subparsers(parser)[name]
    return parser


@pytest.mark.integration
def test_the_commands_that_can_run_here_run(lab_config: Path, tmp_path: Path) -> None:
    ran: dict[tuple[str, ...], str] = {}
    for command in NETWATT:
        words = runnable_words(command, lab_config, tmp_path)
        if words is None or tuple(words) in ran:
            continue
        result = netwatt(*words)
        assert result.returncode == 0, f"{command.where}: netwatt {' '.join(words)}\n{result.stderr[-2000:]}"
        ran[tuple(words)] = command.where
    kinds = {words[0] for words in ran}
    # the reference commands of the README are among them (a parser change cannot empty this test)
    assert {"check-config", "poll", "discover", "status", "factors", "version"} <= kinds, sorted(ran)


def quick_start() -> tuple[Command, Command]:
    readme = [c for c in COMMANDS if c.where.startswith("README.md") and not c.inline]
    return readme[0], readme[1]


def test_the_quick_start_is_two_commands_the_second_the_suite() -> None:
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert lines == ["./netwatt-demo", "bash tests/run"]
    first, second = quick_start()
    assert (first.words, second.words) == (("./netwatt-demo",), ("bash", "tests/run"))


@pytest.mark.integration
def test_the_quick_start_first_command_runs_literally(tmp_path: Path) -> None:
    """./netwatt-demo with a venv that already holds netwatt (this interpreter): it reuses it and runs the
    demo; creating the venv and installing is what the Quick start adds on a fresh machine."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    netwatt_script = venv / "bin" / "netwatt"
    netwatt_script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m agent.cli "$@"\n')
    netwatt_script.chmod(0o755)
    stamp = subprocess.run(["cksum"], stdin=(ROOT / "pyproject.toml").open("rb"), capture_output=True,
                           text=True, check=True).stdout
    (venv / ".netwatt-installed").write_text(stamp)
    first, _ = quick_start()
    result = subprocess.run(["bash", "-c", " ".join(first.words)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False, env={**os.environ, "NETWATT_VENV": str(venv)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "installing" not in result.stderr                 # reused, not reinstalled
    assert "total: " in result.stdout
    assert " W now" in result.stdout


def test_python_missing_venv_support_is_named() -> None:
    """Debian's python3 without python3-venv, for a user who is not root: the script says exactly what to
    install (as root it installs python3-venv with apt itself). Run as nobody when the suite is root."""
    folder = Path(tempfile.mkdtemp(prefix="netwatt-novenv-"))
    try:
        folder.chmod(0o755)
        fake = folder / "python3"
        # a Python 3.11 (the version check passes) whose `-m venv` fails as Debian's does without python3-venv
        fake.write_text('#!/bin/sh\nif [ "$2" = venv ]; then echo "ensurepip is not available" >&2; exit 1; fi\n')
        fake.chmod(0o755)
        env = {**os.environ, "PYTHON": str(fake), "NETWATT_VENV": str(folder / "venv")}
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        result = subprocess.run([*as_user, str(ROOT / "netwatt-demo")], cwd=folder, capture_output=True,
                                text=True, timeout=60, check=False, env=env)
        assert result.returncode == 1, result.stderr
        assert "install Debian's python3-venv first (as root: apt-get install python3-venv)" in result.stderr
        assert not (folder / "venv").exists()
    finally:
        shutil.rmtree(folder)


def test_scripts_the_docs_run_exist() -> None:
    for command in COMMANDS:
        words = command.words
        script = None
        if words[0] in ("bash", "sh", "python", "python3") and len(words) > 1 and not words[1].startswith("-"):
            script = words[1]
        elif words[0].startswith("./"):
            script = words[0]
        if script is not None and not placeholder(script):
            assert (ROOT / script).is_file(), f"{command.where}: {script} does not exist"
            if words[0] in ("bash", "sh") or script.startswith("./"):
                check = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True,
                                       check=False)
                assert check.returncode == 0, f"{command.where}: {check.stderr}"
