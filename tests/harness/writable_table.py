"""A writable MIB table for Net-SNMP's ``pass_persist``: snmpd (the real agent) answers GET/GETNEXT/SET
for the registered subtree by asking this script, which keeps the values in a JSON state file.

State file: {"values": {OID: [type, value]}, "writable": {OID: [allowed ints]},
             "derived": {OID: {"type": t, "base": n, "copy": OID, "gate": [[OID, v]], "add": [[OID, v, n]]}},
             "refuse_sets": false, "ignore_sets": false}
Derived values model the device's reaction: a radio switched off has no clients, a port draws less.
Run as: writable_table.py STATE_FILE ROOT_OID (snmpd starts one per registered subtree).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.strip(".").split("."))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _value(state: dict[str, Any], oid: str) -> tuple[str, int | str] | None:
    values = state["values"]
    if oid in values:
        kind, value = values[oid]
        return str(kind), value
    rule = state.get("derived", {}).get(oid)
    if rule is None:
        return None

    def holds(cond: list[Any]) -> bool:
        return bool(values.get(cond[0], [None, None])[1] == cond[1])

    if not all(holds(g) for g in rule.get("gate", [])):
        return str(rule.get("type", "gauge")), 0
    total = int(values[rule["copy"]][1]) if "copy" in rule else int(rule.get("base", 0))
    total += sum(int(a[2]) for a in rule.get("add", []) if holds(a))
    return str(rule.get("type", "gauge")), total


def _answer(oid: str, found: tuple[str, int | str]) -> str:
    return f".{oid.strip('.')}\n{found[0]}\n{found[1]}\n"


def _set(path: Path, oid: str, typed: str) -> str:
    state = _load(path)
    kind, _, text = typed.partition(" ")
    allowed = state.get("writable", {}).get(oid)
    if allowed is None or oid not in state["values"]:
        return "not-writable\n"
    if state.get("refuse_sets"):
        return "not-writable\n"
    if kind != "integer" or not text.strip().lstrip("-").isdigit():
        return "wrong-type\n"
    if int(text) not in allowed:
        return "wrong-value\n"
    if not state.get("ignore_sets"):        # "accepted is not done": the device may ignore it
        state["values"][oid] = [state["values"][oid][0], int(text)]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)
    return "DONE\n"


def main() -> None:
    path, root = Path(sys.argv[1]), sys.argv[2].strip(".")
    root_key = _key(root)
    for line in sys.stdin:
        command = line.strip()
        if command == "PING":
            sys.stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            oid = sys.stdin.readline().strip().strip(".")
            state = _load(path)
            if command == "get":
                found = _value(state, oid)
                sys.stdout.write(_answer(oid, found) if found else "NONE\n")
            else:
                here = _key(oid)
                known = sorted(_key(o) for o in (*state["values"], *state.get("derived", {}))
                               if _key(o)[:len(root_key)] == root_key)
                nxt = next((k for k in known if k > here), None)
                if nxt is None:
                    sys.stdout.write("NONE\n")
                else:
                    text = ".".join(map(str, nxt))
                    sys.stdout.write(_answer(text, _value(state, text)))  # type: ignore[arg-type]
        elif command == "set":
            oid = sys.stdin.readline().strip().strip(".")
            typed = sys.stdin.readline().strip()
            sys.stdout.write(_set(path, oid, typed))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
