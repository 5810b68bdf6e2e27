"""Which SNMPv3 privacy ciphers pysnmp can actually run here, probed once.

pysnmp imports its ciphers from ``cryptography`` lazily and, when that import fails, only answers every
poll with "Ciphering services not available". Its AES (all key sizes) and DES come from
``cryptography.hazmat.decrepit`` (``decrepit.ciphers.modes.CFB`` since cryptography 47), which an older
system ``cryptography`` (Debian 12 ships 38) lacks. pysnmp is the reference reader, the fallback for
credentials gufo-snmp cannot speak and the only writer (Wi-Fi SETs), so the config check refuses a
credential whose cipher it cannot run, naming what to install.
"""

from __future__ import annotations

import functools
import importlib

# privacy protocol (config spelling) -> the pysnmp module that implements it
_MODULES = {
    "DES": "pysnmp.proto.secmod.rfc3414.priv.des",
    "3DES": "pysnmp.proto.secmod.eso.priv.des3",
    **{name: "pysnmp.proto.secmod.rfc3826.priv.aes" for name in ("AES", "AES128", "AES192", "AES256",
                                                                  "AES192C", "AES256C")},
}
REQUIREMENT = "cryptography>=47"


@functools.cache
def _module_works(module: str) -> bool:
    # each module sets PysnmpCryptoError when its `cryptography` imports failed
    return not getattr(importlib.import_module(module), "PysnmpCryptoError", False)


def missing_cipher(priv_protocol: str) -> str | None:
    """Why pysnmp cannot run this privacy protocol here, or None when it can."""
    module = _MODULES.get(priv_protocol)
    if module is None or _module_works(module):
        return None
    try:
        from cryptography import __version__ as installed  # noqa: PLC0415
    except ImportError:
        installed = "not installed"
    return (f"{priv_protocol} privacy needs {REQUIREMENT} (cryptography.hazmat.decrepit), which this "
            f"Python does not have (cryptography: {installed}): install '{REQUIREMENT}' in netwatt's "
            "environment (pip install -e . or the wheel brings it)")
