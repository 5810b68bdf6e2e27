"""The pysnmp v3arch user (USM) of an SNMPv3 credential, shared by the reader and the setter."""

from __future__ import annotations

from typing import Any

from pysnmp.hlapi.v3arch import asyncio as hl

from collectors.snmp.types import SnmpV3Auth


def usm_user(auth: SnmpV3Auth) -> Any:
    auth_protocols = {
        None: hl.USM_AUTH_NONE, "MD5": hl.USM_AUTH_HMAC96_MD5, "SHA": hl.USM_AUTH_HMAC96_SHA,
        "SHA224": hl.USM_AUTH_HMAC128_SHA224, "SHA256": hl.USM_AUTH_HMAC192_SHA256,
        "SHA384": hl.USM_AUTH_HMAC256_SHA384, "SHA512": hl.USM_AUTH_HMAC384_SHA512,
    }
    priv_protocols = {
        None: hl.USM_PRIV_NONE, "DES": hl.USM_PRIV_CBC56_DES, "3DES": hl.USM_PRIV_CBC168_3DES,
        "AES": hl.USM_PRIV_CFB128_AES, "AES128": hl.USM_PRIV_CFB128_AES,
        # AES-192/256 need a longer key than the auth digest gives; agents differ in how they
        # extend it. Net-SNMP and most agents: Blumenthal draft; Cisco: Reeder (the "C" variants,
        # named as Telegraf names them).
        "AES192": hl.USM_PRIV_CFB192_AES_BLUMENTHAL, "AES256": hl.USM_PRIV_CFB256_AES_BLUMENTHAL,
        "AES192C": hl.USM_PRIV_CFB192_AES, "AES256C": hl.USM_PRIV_CFB256_AES,
    }
    return hl.UsmUserData(
        auth.username,
        authKey=auth.auth_password,
        privKey=auth.priv_password,
        authProtocol=auth_protocols[auth.auth_protocol],
        privProtocol=priv_protocols[auth.priv_protocol],
    )
