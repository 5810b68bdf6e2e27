"""SNMP SET, kept apart from the read seam (``SnmpClient``): only Wi-Fi control writes, and reads never can.

``SnmpSetter`` is the one-method seam; ``PysnmpSetter`` implements it on pysnmp's v3arch engine for v2c
and v3 (one engine per setter; sets are rare and small, so no fast path is needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pysnmp.hlapi.v3arch import asyncio as hl
from pysnmp.proto import rfc1902

from collectors.errors import CollectError, ErrorKind
from collectors.snmp.failures import indication_error, status_error
from collectors.snmp.types import Oid, SnmpTarget, SnmpV2cAuth, format_oid
from collectors.snmp.usm import usm_user

SetType = Literal["integer", "unsigned", "octets"]


@dataclass(frozen=True, slots=True)
class SetValue:
    type: SetType
    value: int | bytes


@dataclass(slots=True)
class SetResult:
    errors: list[CollectError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class SnmpSetter(Protocol):
    async def set(self, target: SnmpTarget, values: Sequence[tuple[Oid, SetValue]]) -> SetResult: ...

    async def close(self) -> None: ...


def _encode(value: SetValue) -> Any:
    if value.type == "integer":
        return rfc1902.Integer32(int(value.value))
    if value.type == "unsigned":
        return rfc1902.Unsigned32(int(value.value))
    return rfc1902.OctetString(bytes(value.value))


class PysnmpSetter:
    """``SnmpSetter`` on pysnmp. All values of one call go in one SET PDU (atomic on the agent)."""

    def __init__(self) -> None:
        self._engine: Any = None

    async def set(self, target: SnmpTarget, values: Sequence[tuple[Oid, SetValue]]) -> SetResult:
        if self._engine is None:
            self._engine = hl.SnmpEngine()
        auth = target.auth
        if isinstance(auth, SnmpV2cAuth):
            user: Any = hl.CommunityData(auth.community, mpModel=1)
            context = hl.ContextData()
        else:
            user = usm_user(auth)
            context = hl.ContextData(contextName=auth.context_name)
        transport_class = hl.Udp6TransportTarget if ":" in target.host else hl.UdpTransportTarget
        try:
            transport = await transport_class.create((target.host, target.port), timeout=target.timeout_s,
                                                     retries=target.retries)
            var_binds = [hl.ObjectType(hl.ObjectIdentity(format_oid(oid)), _encode(v)) for oid, v in values]
            indication, status, _index, _table = await hl.set_cmd(self._engine, user, transport, context, *var_binds,
                                                                   lookupMib=False)
        except Exception as exc:       # pysnmp raises assorted errors (resolution, encoding)
            return SetResult([CollectError(ErrorKind.UNREACHABLE, f"{exc.__class__.__name__}: {exc}", target.address)])
        if indication:
            return SetResult([indication_error(target, str(indication))])
        if int(status):
            return SetResult([status_error(int(status), [oid for oid, _ in values])])
        return SetResult()

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
