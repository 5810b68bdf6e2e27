"""deploy/kubernetes: the example manifests validate against the Kubernetes schemas (offline, strict:
kubernetes-validate), keep the promised hardening, and the ConfigMap's config is one netwatt accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from agent.shard import SHARDS_ENV
from tests.agent_process import ROOT, netwatt

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.30.0"


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def kind(name: str) -> dict[str, Any]:
    [doc] = [doc for _, doc in documents() if doc["kind"] == name]
    return doc


@pytest.mark.parametrize(("file", "doc"), documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_validates_against_the_kubernetes_schema(file: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_wrong_manifest() -> None:
    broken = kind("StatefulSet")
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    broken = kind("StatefulSet")
    broken["spec"]["replicas"] = "4"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_statefulset_is_hardened_sharded_and_probed() -> None:
    assert {doc["kind"] for _, doc in documents()} == {"ConfigMap", "Secret", "Service", "StatefulSet",
                                                       "NetworkPolicy"}
    sts = kind("StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    # --shard auto with NETWATT_SHARDS equal to the replicas
    args = container["args"]
    assert args[args.index("--shard") + 1] == "auto"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env[SHARDS_ENV]) == sts["spec"]["replicas"]
    # one volume claim per pod, mounted where the config keeps the store
    [claim] = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    config = yaml.safe_load(kind("ConfigMap")["data"]["netwatt.yaml"])
    assert mounts[claim["metadata"]["name"]]["mountPath"] == config["agent"]["state_directory"]
    assert mounts["config"]["readOnly"] is True
    assert container["envFrom"] == [{"secretRef": {"name": kind("Secret")["metadata"]["name"]}}]
    assert sts["spec"]["serviceName"] == kind("Service")["metadata"]["name"]
    assert pod["terminationGracePeriodSeconds"] > float(config["agent"]["shutdown_timeout"].rstrip("s"))


def test_configmap_config_passes_check_config(tmp_path: Path) -> None:
    config = tmp_path / "netwatt.yaml"
    config.write_text(kind("ConfigMap")["data"]["netwatt.yaml"])
    secrets = kind("Secret")["stringData"]
    done = netwatt("check-config", "-c", str(config), env=secrets)
    assert done.returncode == 0, done.stdout + done.stderr
    for value in secrets.values():
        assert value not in done.stdout + done.stderr
    missing = netwatt("check-config", "-c", str(config), env={name: "" for name in secrets})
    assert missing.returncode == 2, "the config must really use the Secret's variables"
