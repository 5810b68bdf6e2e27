"""A fleet poller must not run out of descriptors: the soft RLIMIT_NOFILE is raised at start, and the
in-flight bound (one gufo socket per device in flight) is kept under what the limit allows."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from tests.agent_process import ROOT

PROBE = """
import json, logging, resource
from agent.config.load import load_config_text
from agent.snmp_client import snmp_client
logging.basicConfig(level=logging.INFO, format="%(message)s")
config = load_config_text("version: 1\\nagent: {max_in_flight: 100000}\\n", environ={})
client = snmp_client(config)
print(json.dumps({"soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                  "max_in_flight": client.limit.maximum}))
"""


def probe(soft: int, hard: int) -> tuple[dict[str, int], str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True,
                          preexec_fn=limit)
    return json.loads(done.stdout), done.stderr


def test_the_soft_limit_is_raised_to_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    seen, log = probe(256, hard)
    assert seen["soft"] == hard
    assert f"open files limit raised from 256 to {hard}" in log
    assert seen["max_in_flight"] == hard - 256


def test_max_in_flight_is_lowered_under_a_hard_limit() -> None:
    seen, log = probe(512, 512)
    assert seen == {"soft": 512, "max_in_flight": 256}
    assert "agent.max_in_flight 100000 lowered to 256" in log
