"""The SNMP client the agent polls with: the backend router sized for this process's descriptor limit."""

from __future__ import annotations

import logging
import resource

from agent.settings.config import Inventory
from collectors.snmp.backends import BackendRouter

log = logging.getLogger("netwatt.agent")
RESERVED_FDS = 256      # the store, outputs, logs, SNMPv3 sessions kept per device


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (a fleet poller needs more than the usual 1,024);
    the soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            log.info("open files limit raised from %d to %d", soft, hard)
            return hard
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open files limit from %d: %s", soft, exc)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def snmp_client(config: Inventory) -> BackendRouter:
    """Every in-flight gufo walk holds one socket: keep the in-flight bound under the descriptor limit."""
    max_in_flight = config.agent.max_in_flight
    usable = raise_open_files_limit() - RESERVED_FDS
    if max_in_flight > usable:
        log.warning("agent.max_in_flight %d lowered to %d: the open files limit allows no more sockets",
                    max_in_flight, max(1, usable))
        max_in_flight = max(1, usable)
    return BackendRouter(config.agent.snmp_backend, max_in_flight=max_in_flight)
