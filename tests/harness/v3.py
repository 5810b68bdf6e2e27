"""SNMPv3 USM user, shared by the snmpd config writer and the Net-SNMP client wrapper."""

from __future__ import annotations

from dataclasses import dataclass

# Spellings Net-SNMP 5.9.3 (Debian 12) accepts both in snmpd's createUser and in snmpget -a/-x.
AUTH_PROTOCOLS = frozenset({"MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"})
PRIV_PROTOCOLS = frozenset({"DES", "AES", "AES-192", "AES-256"})
MIN_PASSPHRASE = 8  # USM minimum; snmpd only logs a shorter one and drops the user


@dataclass(frozen=True)
class V3User:
    """One USM user. `priv_protocol=None` means authNoPriv."""

    username: str
    auth_password: str
    priv_password: str = ""
    auth_protocol: str = "SHA-256"
    priv_protocol: str | None = "AES"

    def validate(self) -> None:
        if not self.username or any(c.isspace() for c in self.username):
            raise ValueError(f"bad SNMPv3 user name {self.username!r}")
        if self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"auth protocol {self.auth_protocol!r} not in {sorted(AUTH_PROTOCOLS)}")
        if self.priv_protocol is not None and self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"priv protocol {self.priv_protocol!r} not in {sorted(PRIV_PROTOCOLS)}")
        secrets = [self.auth_password] + ([self.priv_password] if self.priv_protocol else [])
        if any(len(s) < MIN_PASSPHRASE or any(c.isspace() for c in s) for s in secrets):
            raise ValueError(f"user {self.username}: passphrases need {MIN_PASSPHRASE}+ chars, no spaces")

    @property
    def level(self) -> str:
        return "authPriv" if self.priv_protocol else "authNoPriv"
