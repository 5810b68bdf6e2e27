"""Regenerate every tests/golden/*/expected.json and the README's device matrix.

    python -m tests.regen_golden

Review the diff before committing: a changed expected file is a behaviour change.
"""

from __future__ import annotations

import re
import sys

from tests.devices_matrix import README, matrix_markdown
from tests.golden_cases import cases, comparable, render, run_case


def main() -> int:
    for case in cases():
        case.expected_file.write_text(render(comparable(run_case(case))), encoding="utf-8")
        print(f"wrote {case.expected_file}")
    text = README.read_text(encoding="utf-8")
    updated = re.sub(r"(<!-- devices:start -->\n).*?(<!-- devices:end -->)",
                     lambda m: m.group(1) + matrix_markdown() + m.group(2), text, flags=re.S)
    README.write_text(updated, encoding="utf-8")
    print(f"updated the device matrix in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
