"""The Kubernetes manifests (deploy/k8s: a kustomize base and the demo overlay), rendered as
`kubectl apply -k` would, checked three ways: against the API schemas of the oldest and newest
Kubernetes versions we state (kubernetes-validate, strict: an unknown field fails), by checkov (no
failed check; every skipped one carries its written reason), and for what the issue asks of them:
probes, resources, security context, disruption budget, autoscaler, TLS ingress, configuration
and secrets by reference, network policy, and a shutdown longer than a call's deadline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from cds_service.auth.clients import load_registry
from cds_service.config import Settings
from cds_service.worker import FLUSH_RESERVE_S

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
# The oldest version whose API has everything used here (the preStop `sleep` action, on by default
# since 1.30) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
TREES = {"base": K8S / "base", "demo": K8S / "overlays" / "demo"}
EXPECTED_KINDS = {
    "Deployment",
    "Service",
    "ServiceAccount",
    "ConfigMap",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
    "NetworkPolicy",
}


def _render(tree: Path) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomize trees cannot be rendered (kubectl kustomize)")
    done = subprocess.run([kubectl, "kustomize", str(tree)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module", params=sorted(TREES))
def rendered(request, tmp_path_factory) -> tuple[str, Path, list[dict]]:
    text = _render(TREES[request.param])
    path = tmp_path_factory.mktemp("k8s") / f"{request.param}.yaml"
    path.write_text(text)
    return request.param, path, [doc for doc in yaml.safe_load_all(text) if doc]


def _one(docs: list[dict], kind: str, name: str = "cds") -> dict:
    """The resource of that kind and name (a generated ConfigMap's name carries a hash suffix)."""
    [found] = [
        d
        for d in docs
        if d["kind"] == kind
        and (d["metadata"]["name"] == name or (kind == "ConfigMap" and d["metadata"]["name"].startswith(name + "-")))
    ]
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_resource_is_valid_for_the_stated_kubernetes_versions(rendered, version):
    _, _, docs = rendered
    assert EXPECTED_KINDS <= {d["kind"] for d in docs}
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)  # raises on a schema violation


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(rendered):
    _, path, _ = rendered
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "checkov"),
            "-f",
            str(path),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == [] and done.returncode == 0, failed
    assert results["passed_checks"]
    for check in results["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.split()) >= 5, check["check_id"]


def test_the_replicas_probe_ready_and_live_and_are_bounded_and_locked_down(rendered):
    _, _, docs = rendered
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"  # never waits on the database
    assert set(container["resources"]["requests"]) == set(container["resources"]["limits"]) == {"cpu", "memory"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] >= 10000
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/config", "/tmp", "/spool"}  # all it writes: /tmp and the card spool
    assert _settings(docs).spool_dir in mounts
    assert (
        deployment["spec"]["replicas"] >= 3 and deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    )


def test_shutdown_outlasts_a_calls_deadline_and_the_drain(rendered):
    _, _, docs = rendered
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    settings = _settings(docs)
    deadline = settings.fhir_deadline_s + settings.db_timeout_s
    assert settings.graceful_timeout_s > deadline  # an in-flight call finishes before the drain ends
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > pre_stop + settings.graceful_timeout_s + FLUSH_RESERVE_S


def _settings(docs: list[dict]) -> Settings:
    env = dict(_one(docs, "ConfigMap", "cds-settings")["data"])
    env.update(CDS_DATABASE_URL="postgresql://cds@db:5432/cds", CDS_SUPPRESSION_SECRET="x" * 32)
    return Settings.from_env(env)


def test_disruption_budget_autoscaler_and_service_select_the_replicas(rendered):
    _, _, docs = rendered
    deployment = _one(docs, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    pdb = _one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = _one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cds"}
    assert hpa["spec"]["minReplicas"] >= 3 > pdb["spec"]["maxUnavailable"]
    service = _one(docs, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_ingress_terminates_tls_and_publishes_only_the_cds_hooks_paths(rendered):
    _, _, docs = rendered
    ingress = _one(docs, "Ingress")
    [tls] = ingress["spec"]["tls"]
    [rule] = ingress["spec"]["rules"]
    assert tls["secretName"] == "cds-tls" and tls["hosts"] == [rule["host"]]
    assert {p["path"] for p in rule["http"]["paths"]} == {"/cds-services", "/openapi.json"}  # not /metrics
    settings = _settings(docs)
    assert settings.public_base_url == f"https://{rule['host']}"  # the JWT aud is the published URL


def test_configuration_is_mounted_and_secrets_are_only_referenced(rendered):
    _, _, docs = rendered
    files = _one(docs, "ConfigMap", "cds-files")["data"]
    assert set(files) == {"trusted-clients.json", "site.json"}
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == _one(docs, "ConfigMap", "cds-files")["metadata"]["name"]
    settings = _settings(docs)
    assert settings.trusted_clients_path == "/config/trusted-clients.json" and settings.site_config_path
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod["containers"][0]["env"]}
    assert {r["name"] for r in refs.values()} == {"cds-secrets"}
    assert set(refs) == {"CDS_DATABASE_URL", "CDS_REDIS_URL", "CDS_SUPPRESSION_SECRET"}
    assert not [d for d in docs if d["kind"] == "Secret"]  # never in the repository


def test_the_registry_in_the_config_map_loads(rendered, tmp_path):
    _, _, docs = rendered
    files = _one(docs, "ConfigMap", "cds-files")["data"]
    (tmp_path / "trusted-clients.json").write_text(files["trusted-clients.json"])
    registry = load_registry(str(tmp_path / "trusted-clients.json"), Settings.from_env({}))
    assert len(registry) >= 1  # parses with the service's own loader
    json.loads(files["site.json"])


def test_network_policy_lets_the_pods_reach_only_dns_databases_and_https(rendered):
    name, _, docs = rendered
    policy = _one(docs, "NetworkPolicy")
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (6379, "TCP"), (443, "TCP")}
    assert all(rule["to"] for rule in policy["spec"]["egress"])  # each rule names where, never "anywhere"
    assert {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]} == {8080}
    if name == "demo":  # its database and Redis accept the service's pods only
        for peer in ("cds-db", "cds-redis"):
            [rule] = _one(docs, "NetworkPolicy", peer)["spec"]["ingress"]
            assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "cds-service"}}}]
