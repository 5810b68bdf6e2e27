"""The peers netwatt is measured against, as small processes run inside the fleet's namespace.

``scrape``: the Prometheus side of snmp_exporter: ``/snmp?target=ADDR&module=bench`` for every
device, ``--concurrency`` scrapes in flight (asyncio, HTTP/1.1 keep-alive, stdlib only, no gzip).
``cli``: the Net-SNMP CLI floor: one ``snmpbulkwalk`` process per device per table, ``--parallel``
at a time. Both print one JSON line shaped like ``netwatt poll --format summary``.

``exporter_config`` writes the exporter's module in the 0.21 format (modules at the top level, auth
inside the module; the ``modules:``/``auths:`` split came with 0.23).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

# Same tables as bench/fleet.py WALK_SUBTREES; rows per table as served there.
WALK_SUBTREES = ("1.3.6.1.2.1.47.1.1.1", "1.3.6.1.2.1.99.1.1.1", "1.3.6.1.2.1.105.1.3.1")
EXPORTER_MODULE = "bench"

_ENTITY_INDEX = [{"labelname": "entPhysicalIndex", "type": "gauge"}]
_PSE_INDEX = [{"labelname": "pethMainPseGroupIndex", "type": "gauge"}]
_NAME_LOOKUP: list[dict[str, object]] = [{"labels": ["entPhysicalIndex"], "labelname": "entPhysicalName",
                 "oid": "1.3.6.1.2.1.47.1.1.1.1.7", "type": "DisplayString"}]
# (name, oid, type, indexes, lookups): what the generator writes for these tables.
_METRICS: tuple[tuple[str, str, str, list[dict[str, str]], list[dict[str, object]]], ...] = (
    ("entPhysicalDescr", "1.3.6.1.2.1.47.1.1.1.1.2", "DisplayString", _ENTITY_INDEX, []),
    ("entPhysicalContainedIn", "1.3.6.1.2.1.47.1.1.1.1.4", "gauge", _ENTITY_INDEX, []),
    ("entPhysicalClass", "1.3.6.1.2.1.47.1.1.1.1.5", "gauge", _ENTITY_INDEX, []),
    ("entPhysicalName", "1.3.6.1.2.1.47.1.1.1.1.7", "DisplayString", _ENTITY_INDEX, []),
    ("entPhysicalModelName", "1.3.6.1.2.1.47.1.1.1.1.13", "DisplayString", _ENTITY_INDEX, []),
    ("entPhySensorType", "1.3.6.1.2.1.99.1.1.1.1", "gauge", _ENTITY_INDEX, _NAME_LOOKUP),
    ("entPhySensorScale", "1.3.6.1.2.1.99.1.1.1.2", "gauge", _ENTITY_INDEX, _NAME_LOOKUP),
    ("entPhySensorPrecision", "1.3.6.1.2.1.99.1.1.1.3", "gauge", _ENTITY_INDEX, _NAME_LOOKUP),
    ("entPhySensorValue", "1.3.6.1.2.1.99.1.1.1.4", "gauge", _ENTITY_INDEX, _NAME_LOOKUP),
    ("entPhySensorOperStatus", "1.3.6.1.2.1.99.1.1.1.5", "gauge", _ENTITY_INDEX, _NAME_LOOKUP),
    ("pethMainPsePower", "1.3.6.1.2.1.105.1.3.1.1.2", "gauge", _PSE_INDEX, []),
    ("pethMainPseOperStatus", "1.3.6.1.2.1.105.1.3.1.1.3", "gauge", _PSE_INDEX, []),
    ("pethMainPseConsumptionPower", "1.3.6.1.2.1.105.1.3.1.1.4", "gauge", _PSE_INDEX, []),
)


def exporter_config(*, timeout_s: float = 2.0, retries: int = 1, max_repetitions: int = 25) -> str:
    """snmp.yml for prometheus-snmp-exporter 0.21 (JSON is YAML: no PyYAML needed)."""
    module = {
        "walk": list(WALK_SUBTREES),
        "metrics": [
            {"name": name, "oid": oid, "type": kind, "help": f"{name} - {oid}", "indexes": indexes,
             **({"lookups": lookups} if lookups else {})}
            for name, oid, kind, indexes, lookups in _METRICS
        ],
        "version": 2,
        "max_repetitions": max_repetitions,
        "retries": retries,
        "timeout": f"{timeout_s:g}s",
        "auth": {"community": "public"},
    }
    return json.dumps({EXPORTER_MODULE: module}, indent=1) + "\n"


@dataclass
class Summary:
    devices: int = 0
    ok: int = 0
    failed: int = 0
    timeouts: int = 0
    requests: int = 0
    with_power: int = 0
    total_w: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, message: str, *, timeout: bool) -> None:
        self.failed += 1
        self.timeouts += int(timeout)
        key = re.sub(r"127(\.\d+){3}(:\d+)?", "ADDR", message)[:160]
        self.errors[key] = self.errors.get(key, 0) + 1

    def as_json(self) -> str:
        payload = {k: v for k, v in vars(self).items() if k != "errors"}
        payload["total_w"] = round(self.total_w, 3)
        payload["errors"] = dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:5])
        return json.dumps(payload)


# -- snmp_exporter scrapes ------------------------------------------------------------------------

_SAMPLE = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$')


def _scrape_result(summary: Summary, status: int, body: str) -> None:
    if status != 200:
        summary.fail(body.strip().splitlines()[-1] if body.strip() else f"HTTP {status}",
                     timeout="timeout" in body.lower())
        return
    watts: float | None = None
    for line in body.splitlines():
        if line.startswith("snmp_scrape_packets_sent "):
            summary.requests += int(float(line.split()[1]))
        elif line.startswith("entPhySensorValue{") and "Input Power" in line:
            match = _SAMPLE.match(line)
            if match:
                watts = (watts or 0.0) + float(match.group(3))
    summary.ok += 1
    if watts is not None:
        summary.with_power += 1
        summary.total_w += watts


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str, bool]:
    """One HTTP/1.1 response: status, body, keep-alive (Content-Length or chunked bodies)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    keep_alive = headers.get("connection", "").lower() != "close"
    return status, body.decode("utf-8", "replace"), keep_alive


async def _scrape_all(base: str, module: str, targets: Sequence[str], concurrency: int,
                      timeout_s: float) -> Summary:
    host, port = base.removeprefix("http://").rstrip("/").rsplit(":", 1)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)
    summary = Summary(devices=len(targets))

    async def worker() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while not queue.empty():
            target = queue.get_nowait()
            request = (f"GET /snmp?target={quote(target)}&module={module} HTTP/1.1\r\n"
                       f"Host: {host}:{port}\r\nUser-Agent: netwatt-bench\r\n\r\n").encode()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                assert reader is not None
                writer.write(request)
                status, body, keep_alive = await asyncio.wait_for(_read_response(reader), timeout_s)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                summary.fail(f"scrape error: {exc.__class__.__name__}: {exc}", timeout=False)
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            _scrape_result(summary, status, body)
            if not keep_alive:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(targets)))))
    return summary


# -- Net-SNMP CLI ----------------------------------------------------------------------------------

_CLI_ENV = dict(os.environ, MIBS="", MIBDIRS="/dev/null")
_SENSOR_LINE = re.compile(r"^\.1\.3\.6\.1\.2\.1\.99\.1\.1\.1\.([14])\.(\d+) = INTEGER: (-?\d+)$")


def _walk(address: str, subtree: str, timeout_s: float, retries: int) -> tuple[int, str, str]:
    argv = ["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr25", "-M", "/dev/null",
            "-t", f"{timeout_s:g}", "-r", str(retries), address, subtree]
    limit = (timeout_s * (retries + 1) + 5) * 10
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=_CLI_ENV, timeout=limit,
                                check=False)
    except subprocess.TimeoutExpired:
        return -1, "", f"snmpbulkwalk ran over {limit:g} s"
    return result.returncode, result.stdout, result.stderr


def _cli_device(address: str, timeout_s: float, retries: int) -> tuple[bool, str, float | None]:
    """Walk the three tables of one device, one process each, in turn (like a shell loop would)."""
    types: dict[str, int] = {}
    values: dict[str, int] = {}
    for subtree in WALK_SUBTREES:
        code, out, err = _walk(address, subtree, timeout_s, retries)
        if code != 0 or "Timeout" in err or not out.strip():
            return False, (err.strip() or out.strip() or f"exit {code}").splitlines()[0], None
        if subtree.startswith("1.3.6.1.2.1.99"):
            for line in out.splitlines():
                match = _SENSOR_LINE.match(line)
                if match:
                    (types if match.group(1) == "1" else values)[match.group(2)] = int(match.group(3))
    watts = [v for index, v in values.items() if types.get(index) == 6]
    return True, "", float(sum(watts)) if watts else None


def _cli_all(targets: Sequence[str], parallel: int, timeout_s: float, retries: int) -> Summary:
    summary = Summary(devices=len(targets))
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for ok, message, watts in pool.map(lambda a: _cli_device(a, timeout_s, retries), targets):
            if not ok:
                summary.fail(message, timeout="Timeout" in message)
                continue
            summary.ok += 1
            if watts is not None:
                summary.with_power += 1
                summary.total_w += watts
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    scrape = sub.add_parser("scrape", help="scrape snmp_exporter for every target")
    scrape.add_argument("--targets", type=Path, required=True, help="file: one ADDR:PORT a line")
    scrape.add_argument("--url", default="http://127.0.0.1:9116")
    scrape.add_argument("--module", default=EXPORTER_MODULE)
    scrape.add_argument("--concurrency", type=int, default=200)
    scrape.add_argument("--http-timeout", type=float, default=60.0)
    cli = sub.add_parser("cli", help="snmpbulkwalk every table of every target")
    cli.add_argument("--targets", type=Path, required=True)
    cli.add_argument("--parallel", type=int, default=50)
    cli.add_argument("--timeout", type=float, default=2.0)
    cli.add_argument("--retries", type=int, default=1)
    sub.add_parser("exporter-config", help="print the snmp_exporter module")
    args = parser.parse_args(argv)
    if args.command == "exporter-config":
        sys.stdout.write(exporter_config())
        return 0
    targets = args.targets.read_text().split()
    started = time.perf_counter()
    if args.command == "scrape":
        summary = asyncio.run(
            _scrape_all(args.url, args.module, targets, args.concurrency, args.http_timeout))
    else:
        summary = _cli_all(targets, args.parallel, args.timeout, args.retries)
    print(summary.as_json())
    print(f"{args.command}: {len(targets)} targets in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0 if summary.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
