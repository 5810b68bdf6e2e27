"""A NETCONF-over-SSH server that answers with recorded replies (PyPI ``netconf``, C. Hopps).

Run as its own process by ``tests.harness.netconf_canned.CannedNetconfServer``:

    python tests/harness/canned_netconf_server.py --port P --host-key KEY --case DIR [--delay S]

A case folder holds ``capabilities.txt`` (one URI a line, announced in <hello> after base 1.0/1.1),
``data.xml`` (a ``<data>`` element: what <get> filters with RFC 6241 subtree rules) and
``rpc/<name>.xml`` (the content of the <rpc-reply> to a custom RPC such as Junos
``get-power-usage-information``). ``--raw FILE`` sends FILE verbatim as the reply to every <get>
(hostile XML tests), ``--huge N`` a reply of N bytes. Listens on 127.0.0.1 only.

The subtree filter follows shared/netconf-peer/pyserver/state_server.py (list keys kept in
selected entries, RFC 7950 7.8.5).
"""

from __future__ import annotations

import argparse
import copy
import errno
import os
import signal
import socket as _socket
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import paramiko
from lxml import etree

# sshutil 1.5 imports paramiko.dsskey, gone in paramiko 4; DSA host keys are never used here.
if "paramiko.dsskey" not in sys.modules and not hasattr(paramiko, "dsskey"):
    _dss = types.ModuleType("paramiko.dsskey")

    class _NoDSSKey:
        @classmethod
        def from_private_key_file(cls, *_args: Any) -> None:
            raise paramiko.SSHException("DSA keys are not supported")

    _dss.DSSKey = _NoDSSKey  # type: ignore[attr-defined]
    sys.modules["paramiko.dsskey"] = _dss
    paramiko.dsskey = _dss

import sshutil.server as _sshsrv
from netconf import server as ncserver

_NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
_KEYS = {"name", "id", "index", "intf-name", "module", "switch-num", "location", "re-name"}


class _LoopbackSocket(_socket.socket):
    def bind(self, address: Any) -> None:
        super().bind(("127.0.0.1", address[1]))


class _LoopbackSocketModule:
    """Stands in for ``socket`` inside sshutil.server, which binds to all addresses by itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_socket, name)

    @staticmethod
    def socket(family: int = _socket.AF_INET, *args: Any, **kwargs: Any) -> _socket.socket:
        if family == _socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "IPv6 disabled: loopback-only server")
        return _LoopbackSocket(family, *args, **kwargs)


_sshsrv.socket = _LoopbackSocketModule()


def _same(f: Any, d: Any) -> bool:
    if not isinstance(d.tag, str) or not isinstance(f.tag, str):
        return False
    qf, qd = etree.QName(f), etree.QName(d)
    return bool(qf.localname == qd.localname and (qf.namespace is None or qf.namespace == qd.namespace))


def subtree(d: Any, f: Any) -> Any:
    """``d`` matched filter node ``f``: the filtered copy of ``d``, or None when nothing is selected."""
    kids = [c for c in f if isinstance(c.tag, str)]
    if not kids:
        text = (f.text or "").strip()
        return copy.deepcopy(d) if not text or (d.text or "").strip() == text else None
    content = [c for c in kids if len(c) == 0 and (c.text or "").strip()]
    for c in content:
        if not any(_same(c, x) and (x.text or "").strip() == c.text.strip() for x in d):
            return None
    selections = [c for c in kids if c not in content]
    if not selections:
        return copy.deepcopy(d)
    out = etree.Element(d.tag, attrib=dict(d.attrib), nsmap=d.nsmap)
    selected = False
    for x in d:
        if not isinstance(x.tag, str):
            continue
        if (len(x) == 0 and etree.QName(x).localname in _KEYS) or any(_same(c, x) for c in content):
            out.append(copy.deepcopy(x))
            continue
        for c in selections:
            if _same(c, x):
                r = subtree(x, c)
                if r is not None:
                    out.append(r)
                    selected = True
    return out if selected else None


def filtered(data: Any, flt: Any) -> Any:
    out = etree.Element(f"{{{_NC}}}data", nsmap={None: _NC})
    for d in data:
        if flt is None:
            out.append(copy.deepcopy(d))
            continue
        for f in flt:
            if _same(f, d):
                r = subtree(d, f)
                if r is not None:
                    out.append(r)
                break
    return out


class CannedMethods(ncserver.NetconfMethods):  # type: ignore[misc]
    def __init__(self, case: Path, delay_s: float, raw: str | None, huge: int) -> None:
        self.delay_s = delay_s
        self.raw = raw
        self.huge = huge
        caps = case / "capabilities.txt"
        self.capabilities = [line.strip() for line in caps.read_text().splitlines()
                             if line.strip() and not line.startswith("#")] if caps.exists() else []
        data = case / "data.xml"
        self.data = etree.parse(str(data)).getroot() if data.exists() else etree.Element("data")
        self.rpcs = {p.stem: p for p in sorted((case / "rpc").glob("*.xml"))}

    def nc_append_capabilities(self, capabilities: Any) -> None:
        for uri in self.capabilities:
            etree.SubElement(capabilities, f"{{{_NC}}}capability").text = uri

    def _hostile(self, session: Any, rpc: Any) -> bool:
        message_id = rpc.get("message-id", "")
        if self.raw is not None:
            session.send_message(self.raw.replace("{message_id}", message_id))
            return True
        if self.huge:
            filler = "x" * self.huge
            session.send_message(f'<rpc-reply xmlns="{_NC}" message-id="{message_id}"><data>'
                                 f"<blob>{filler}</blob></data></rpc-reply>")
            return True
        return False

    def rpc_get(self, session: Any, rpc: Any, filter_or_none: Any) -> Any:
        time.sleep(self.delay_s)
        if self._hostile(session, rpc):
            return etree.Element("ok")
        return filtered(self.data, filter_or_none)

    def rpc_get_config(self, session: Any, rpc: Any, source: Any, filter_or_none: Any) -> Any:
        time.sleep(self.delay_s)
        return etree.Element(f"{{{_NC}}}data")

    def __getattr__(self, name: str) -> Any:
        # Custom RPCs: rpc_<name> answers with the recorded rpc/<name>.xml
        rpc_name = name.removeprefix("rpc_").replace("_", "-")
        if not name.startswith("rpc_") or rpc_name not in self.rpcs:
            raise AttributeError(name)
        path = self.rpcs[rpc_name]

        def answer(session: Any, rpc: Any, *params: Any) -> Any:
            time.sleep(self.delay_s)
            return etree.parse(str(path)).getroot()

        return answer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--user", default="netwatt")
    parser.add_argument("--password", required=True)
    parser.add_argument("--case", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--raw", type=Path)
    parser.add_argument("--huge", type=int, default=0)
    args = parser.parse_args()
    methods = CannedMethods(args.case, args.delay, args.raw.read_text() if args.raw else None, args.huge)
    control = ncserver.SSHUserPassController(username=args.user, password=args.password)
    server = ncserver.NetconfSSHServer(server_ctl=control, server_methods=methods, port=args.port,
                                       host_key=args.host_key, debug=False)
    print(f"canned NETCONF server listening on 127.0.0.1:{server.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    closer = threading.Thread(target=server.close, daemon=True)     # close() may wait on open sessions
    closer.start()
    closer.join(2)
    os._exit(0)       # sshutil's session threads are not daemons


if __name__ == "__main__":
    sys.exit(main())
