"""Real servers on 127.0.0.1 for integration tests: snmpsim, Net-SNMP snmpd, a misbehaving agent."""

from .misbehaving import MisbehavingAgent, Mode
from .ports import free_tcp_port, free_udp_port
from .probe import net_snmp, snmpget, v2c_get
from .process import ServerStartError
from .require import require_server
from .snmpd import NetSnmpd
from .snmpsim import SnmpsimServer
from .v3 import V3User

__all__ = [
    "MisbehavingAgent",
    "Mode",
    "NetSnmpd",
    "ServerStartError",
    "SnmpsimServer",
    "V3User",
    "free_tcp_port",
    "free_udp_port",
    "net_snmp",
    "require_server",
    "snmpget",
    "v2c_get",
]
