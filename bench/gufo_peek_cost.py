"""What the gufo backend's strictness costs: the peek at every reply (size, error-status, ICMP errors).

    python3 bench/gufo_peek_cost.py [--replies 100000]

One gufo socket on 127.0.0.1 with one v2c reply of 20 varbinds waiting; times, in process and
without load on anything else, (a) the view of the socket each device exchange opens and detaches,
and (b) one peek at a reply (``recv`` MSG_PEEK|MSG_TRUNC of its first 512 bytes + the error-status).
A warm poll is one exchange and one reply, so (a) + (b) is the cost a device a round.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gufo.snmp import _fast as gufo
from pyasn1.codec.ber import encoder
from pysnmp.proto import api

from collectors.snmp.gufo_client import _PEEK_BYTES, peek_reply, peek_view


def reply(varbinds: int) -> bytes:
    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = v2c.GetResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 123456)
    v2c.apiPDU.set_varbinds(pdu, [((1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4, i), v2c.Integer32(250000))
                                  for i in range(varbinds)])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, b"public")
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=100_000)
    count = parser.parse_args().replies
    data = reply(20)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        sock = gufo.SnmpV2cClientSocket(f"127.0.0.1:{agent.getsockname()[1]}", "public", 0, 0, 0, 0)
        sock.send_get_many(["1.3.6.1.2.1.1.2.0"])
        _, peer = agent.recvfrom(2048)
        agent.sendto(data, peer)
        time.sleep(0.1)
        started = time.perf_counter()
        for _ in range(count):
            peek_view(sock.get_fd()).detach()
        per_exchange = (time.perf_counter() - started) / count
        view, head = peek_view(sock.get_fd()), bytearray(_PEEK_BYTES)
        started = time.perf_counter()
        for _ in range(count):
            peek_reply(view, head)             # MSG_PEEK: the same reply stays queued
        per_reply = (time.perf_counter() - started) / count
        view.detach()
    total = per_exchange + per_reply
    print(f"reply {len(data)} bytes: socket view {per_exchange * 1e6:.2f} us an exchange, peek "
          f"{per_reply * 1e6:.2f} us a reply; a warm round of 10,000 devices: {total * 10_000:.3f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
