"""The supported-device matrix in README.md, generated from the golden cases' expected output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.golden_cases import cases

README = Path(__file__).resolve().parent.parent / "README.md"


def matrix_markdown() -> str:
    rows = ["| recorded device | modeled on | profiles | device total | method | basis |",
            "| --- | --- | --- | --- | --- | --- |"]
    for case in cases():
        expected = json.loads(case.expected_file.read_text(encoding="utf-8"))
        total = "unknown" if expected["power_w"] is None else f"{expected['power_w']:g} W"
        modeled_on = case.modeled_on.split(";")[0].split(", shapes")[0]
        rows.append(f"| `{case.name}` | {modeled_on} | {', '.join(expected['profiles'])} | {total} | "
                    f"{expected['method']} | {expected['basis'] or '-'} |")
    return "\n".join(rows) + "\n"
