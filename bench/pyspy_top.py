"""Top functions of a ``py-spy record -f raw`` profile (collapsed stacks), by own and total samples.

    ip netns exec NS py-spy record -r 200 -f raw -o prof.txt -- netwatt poll --config C --all --format summary
    python3 bench/pyspy_top.py prof.txt --top 20
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match.group('func')} ({path})"


def top(lines: Sequence[str], count: int, *, main_only: bool = True
        ) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Samples, and the ``count`` top functions by own and by inclusive samples.

    ``main_only``: drop stacks rooted in ``threading`` (helper threads such as asyncio's default
    executor waiting for work), keeping the main thread's.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, number = line.rstrip().rpartition(" ")
        if not stack or not number.isdigit():
            continue
        n = int(number)
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames or (main_only and frames[0].startswith(("Thread._bootstrap", "_bootstrap "))):
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    return samples, own.most_common(count), total.most_common(count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--all-threads", action="store_true", help="keep helper threads' stacks too")
    args = parser.parse_args(argv)
    samples, own, total = top(args.profile.read_text().splitlines(), args.top, main_only=not args.all_threads)
    print(f"{samples} samples" + ("" if args.all_threads else " (main thread)"))
    for title, rows in (("own time", own), ("total time (inclusive)", total)):
        print(f"\n| {title} | % |\n| --- | ---: |")
        for name, n in rows:
            print(f"| `{name}` | {100 * n / max(samples, 1):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
