"""SNMP collection: a sans-I/O bulk walker behind a one-method client seam (``SnmpClient.walk``)."""

from collectors.snmp.types import (
    EndOfMibView,
    NoSuchInstance,
    NoSuchObject,
    Oid,
    SnmpClient,
    SnmpTarget,
    SnmpV2cAuth,
    SnmpV3Auth,
    SnmpValue,
    WalkResult,
    format_oid,
    parse_oid,
)

__all__ = [
    "EndOfMibView",
    "NoSuchInstance",
    "NoSuchObject",
    "Oid",
    "SnmpClient",
    "SnmpTarget",
    "SnmpV2cAuth",
    "SnmpV3Auth",
    "SnmpValue",
    "WalkResult",
    "format_oid",
    "parse_oid",
]
