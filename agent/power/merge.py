"""One device read over SNMP and NETCONF: the same power never counted twice (pure).

``device_power`` already counts one kind only (PSU input, a device total, PSU output or modules)
and drops repeats of one physical PSU by dedupe key. Across protocols the names of a PSU rarely
match, so where both protocols report usable power of the same countable kind, the NETCONF
readings stand (the device was given a NETCONF profile on purpose) and the SNMP ones are kept,
marked duplicate, with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.power.device_power import BASIS_ORDER
from agent.power.readings import Quantity, Reading, Status


def merge_protocols(snmp: Sequence[Reading], netconf: Sequence[Reading]) -> list[Reading]:
    covered = {r.kind for r in netconf if r.kind in BASIS_ORDER and r.quantity is Quantity.POWER
               and r.status is Status.OK and r.value is not None}
    for reading in snmp:
        if reading.kind in covered and reading.status is Status.OK:
            reading.reject(f"{reading.kind} is also read over NETCONF on this device; counted once, from NETCONF",
                           Status.DUPLICATE)
    return [*netconf, *snmp]


