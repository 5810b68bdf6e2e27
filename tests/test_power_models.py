"""The power model table (config/models/power.yaml): every row cites the document its numbers were
read in, family patterns match the most specific row, and a silent device of a listed model polled
over real SNMP (snmpsim) gets an estimated total that names the row's source; a same-model device
that measures wins over the row."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from agent.config.load import Config, load_config_text
from agent.emissions.engine import EmissionsEngine
from agent.errors import ConfigError
from agent.lab import SnmpsimProcess
from agent.poll import Poller
from agent.power.estimate import PowerModel, PowerModels, load_power_models, models_dir
from agent.power.profile_files import load_builtin_profiles
from agent.power.readings import Method, PollResult
from agent.snmp_client import snmp_client
from agent.store.sqlite import Store
from agent.tables import FEATURE_TABLES

URL = re.compile(r"https?://\S+")


def _shipped() -> PowerModels:
    return load_power_models(models_dir() / "power.yaml")


def test_every_shipped_row_names_a_document_with_its_url_and_typical_is_at_most_max() -> None:
    rows = list(_shipped().models.values())
    assert rows
    for row in rows:
        assert URL.search(row.source), f"{row.model}: the source names no URL"
        assert row.typical_w is not None or row.max_w is not None, f"{row.model}: a row without numbers"
        if row.typical_w is not None and row.max_w is not None:
            assert row.typical_w <= row.max_w, row.model


def _models(*rows: tuple[str, float]) -> PowerModels:
    return PowerModels(0.88, "default", {m.lower(): PowerModel(m, w, None, None, f"doc {m}") for m, w in rows})


def test_an_exact_name_wins_then_the_most_specific_family_pattern() -> None:
    models = _models(("C9300-*", 1.0), ("C9300-48P*", 2.0), ("C9300-48P-E", 3.0), ("C9300-48?-A", 4.0))
    assert models.get("c9300-48p-e") is models.models["c9300-48p-e"]          # exact, any case
    def typical(model: str) -> float | None:
        row = models.get(model)
        return row.typical_w if row else None

    assert typical("C9300-48P-A") == 4.0                 # 10 literal characters beat 9
    assert typical("C9300-48P-B") == 2.0                 # 9 beat 6
    assert typical("C9300-48U-A") == 4.0
    assert typical("C9300-24T-A") == 1.0
    assert models.get("C9200-24T") is None
    assert models.get("") is None


def test_the_shipped_family_row_matches_its_skus_only() -> None:
    models = _shipped()
    row = models.get("EX4600-40F-DC-AFO")
    assert row is not None
    assert (row.typical_w, row.max_w) == (300.0, 385.0)
    assert models.get("EX4600-40F-AFO") is None          # the AC model: the DC table does not apply


def test_a_row_whose_typical_exceeds_its_max_or_repeats_a_model_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "power.yaml"
    head = "version: 1\ndefault_psu_efficiency: 0.88\ndefault_psu_efficiency_source: x\nmodels:\n"
    table.write_text(head + "  - {model: SW-1, typical_w: 90, max_w: 60, source: 'doc https://x.example'}\n")
    with pytest.raises(ConfigError, match=r"power.yaml.*typical_w.*above max_w 60"):
        load_power_models(table)
    table.write_text(head + "  - {model: SW-1, typical_w: 9, source: 'doc https://x.example'}\n"
                            "  - {model: sw-1, typical_w: 8, source: 'doc https://x.example'}\n")
    with pytest.raises(ConfigError, match="sw-1 has a row already"):
        load_power_models(table)


# Two synthetic walks of the same model (written for this test, not recorded): one reports nothing
# electrical, the other an ENTITY-SENSOR chassis watts reading. entPhysicalModelName names the model.
def _walk(model: str, sensor_w: int | None) -> str:
    lines = ["1.3.6.1.2.1.1.1.0|4|test switch", "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1",
             "1.3.6.1.2.1.1.5.0|4|sw", "1.3.6.1.2.1.47.1.1.1.1.2.1|4|chassis",
             "1.3.6.1.2.1.47.1.1.1.1.4.1|2|0", "1.3.6.1.2.1.47.1.1.1.1.5.1|2|3",
             "1.3.6.1.2.1.47.1.1.1.1.7.1|4|Chassis", f"1.3.6.1.2.1.47.1.1.1.1.13.1|4|{model}"]
    if sensor_w is not None:
        lines += ["1.3.6.1.2.1.99.1.1.1.1.1|2|6", "1.3.6.1.2.1.99.1.1.1.2.1|2|9", "1.3.6.1.2.1.99.1.1.1.3.1|2|0",
                  f"1.3.6.1.2.1.99.1.1.1.4.1|2|{sensor_w}", "1.3.6.1.2.1.99.1.1.1.5.1|2|1"]
    return "\n".join(lines) + "\n"


def _config(server: SnmpsimProcess, tmp_path: Path) -> Config:
    devices = "".join(f"  - {{name: {c}, address: '{server.host}:{server.port}', credential: {c}, timeout: 5s}}\n"
                      for c in server.communities)
    credentials = "".join(f"  {c}: {{version: 2c, community: 'plain:{c}'}}\n" for c in server.communities)
    return load_config_text(f"version: 1\nagent: {{state_directory: '{tmp_path}'}}\ncredentials:\n{credentials}"
                            f"devices:\n{devices}", environ={}, builtin_profiles=load_builtin_profiles())


def _poll(config: Config, name: str) -> PollResult:
    async def run() -> PollResult:
        client = snmp_client(config)
        try:
            return await Poller(config, client).poll(config.device(name))
        finally:
            await client.close()
    return asyncio.run(run())


@pytest.mark.integration
def test_a_silent_device_of_a_listed_model_polled_over_snmp_is_estimated_from_its_cited_row(
        tmp_path: Path) -> None:
    walks = tmp_path / "walks"
    walks.mkdir()
    (walks / "silent.snmprec").write_text(_walk("EX4600-40F-DC-AFO", None))
    (walks / "measuring.snmprec").write_text(_walk("EX4600-40F-DC-AFO", 262))
    with SnmpsimProcess(walks, cache_dir=tmp_path / "cache") as server:
        config = _config(server, tmp_path)
        silent, measuring, silent_again = (_poll(config, name) for name in ("silent", "measuring", "silent"))
    assert (silent.info.model, silent.power.power_w) == ("EX4600-40F-DC-AFO", None)
    assert measuring.power.power_w == 262.0

    engine = EmissionsEngine(config, Store(tmp_path / "state", tables=FEATURE_TABLES))
    engine.estimate(silent)
    assert silent.power.method is Method.ESTIMATED
    assert (silent.power.power_w, silent.power.basis) == (300.0, "model_typical+poe")
    assert "datasheet typical 300 W (Juniper Networks, EX4600 Switch Hardware Guide, Table 17" in silent.power.note
    assert "https://www.easymanua.ls/juniper/ex4600/manual/305618?p=48" in silent.power.note

    # once a same-model device has measured, its input wins over the datasheet row
    engine.estimate(measuring)
    engine.estimate(silent_again)
    assert measuring.power.method is Method.MEASURED
    assert (silent_again.power.power_w, silent_again.power.basis) == (262.0, "model_calibrated+poe")
    assert silent_again.power.method is Method.ESTIMATED

