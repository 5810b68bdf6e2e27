"""Readiness probes and a thin wrapper over the Net-SNMP command-line tools."""

from __future__ import annotations

import os
import random
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api

from .process import find_tool
from .v3 import V3User

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
_V2C: Any = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def v2c_get(host: str, port: int, community: str, oid: str = SYS_OBJECT_ID, timeout: float = 1.0) -> bool:
    """True when a v2c GET gets a well-formed Response with our request id (the value may be noSuch*)."""
    pdu = _V2C.GetRequestPDU()
    _V2C.apiPDU.set_defaults(pdu)
    request_id = random.randint(1, 2**31 - 1)
    _V2C.apiPDU.set_request_id(pdu, request_id)
    _V2C.apiPDU.set_varbinds(pdu, [(oid, _V2C.Null(""))])
    msg = _V2C.Message()
    _V2C.apiMessage.set_defaults(msg)
    _V2C.apiMessage.set_community(msg, community)
    _V2C.apiMessage.set_pdu(msg, pdu)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(encoder.encode(msg), (host, port))
            data, _ = sock.recvfrom(65535)
            reply, _ = decoder.decode(data, asn1Spec=_V2C.Message())
        except (OSError, PyAsn1Error):
            return False
    answer = _V2C.apiMessage.get_pdu(reply)
    return bool(_V2C.apiPDU.get_request_id(answer) == request_id)


def net_snmp_env(persist_dir: Path | None = None) -> dict[str, str]:
    """Environment for Net-SNMP clients: no MIB loading (no noise, numeric OIDs) and a private state dir."""
    env = dict(os.environ, MIBS="", MIBDIRS="/dev/null")
    if persist_dir is not None:
        env["SNMP_PERSISTENT_DIR"] = str(persist_dir)
    return env


def net_snmp(
    tool: str,
    endpoint: str,
    args: Sequence[str],
    *,
    community: str | None = None,
    v3: V3User | None = None,
    timeout: float = 1.0,
    retries: int = 0,
    persist_dir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Net-SNMP tool (snmpget, snmpwalk, snmpbulkwalk...) with numeric output, bounded in time."""
    cmd = [find_tool(tool, "/usr/bin"), "-On", "-t", str(timeout), "-r", str(retries)]
    if v3 is not None:
        cmd += ["-v3", "-l", v3.level, "-u", v3.username, "-a", v3.auth_protocol, "-A", v3.auth_password]
        if v3.priv_protocol:
            cmd += ["-x", v3.priv_protocol, "-X", v3.priv_password]
    else:
        cmd += ["-v2c", "-c", community if community is not None else "public"]
    cmd += [endpoint, *args]
    # Wall-clock cap: every try of every request, plus slack for process start.
    cap = (timeout * (retries + 1)) * 50 + 10
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=cap,
        env=net_snmp_env(persist_dir),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def snmpget(endpoint: str, *oids: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`snmpget -On` of `oids`; keyword arguments as for `net_snmp`."""
    return net_snmp("snmpget", endpoint, oids, **kwargs)
