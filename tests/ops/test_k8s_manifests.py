"""Every Kubernetes manifest against the Kubernetes JSON schemas (PyPI kubernetes-validate, strict: unknown fields
fail) and KEDA's ScaledObject schema (vendored, deploy/k8s/schemas/); then what the manifests must say: a KEDA
ScaledObject per consuming service on its consumer group, API-only replicas scaled by an HPA on CPU, disruption
budgets, the production variables, and an Ingress that sends every route of every service to that service."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from starlette.routing import Mount, Route

from services.registry import SERVICES
from tests.support import ROOT, settings_for

# answered by every pod itself (probes, scrapes): never routed by the Ingress
PER_POD = ("/healthz", "/readyz", "/metrics")

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30"
KEDA_SCHEMA = json.loads((K8S / "schemas" / "keda-scaledobject-v1alpha1.json").read_text())


def _docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in sorted(K8S.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _docs() if d["kind"] == kind}


def _validate(doc: dict[str, Any]) -> None:
    if doc["apiVersion"] == "keda.sh/v1alpha1":
        jsonschema.validate(doc, KEDA_SCHEMA)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_every_manifest_validates_against_its_schema() -> None:
    docs = _docs()
    assert len(docs) >= 30
    for path, doc in docs:
        try:
            _validate(doc)
        except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
            raise AssertionError(f"{path.name}: {doc['kind']}/{doc['metadata']['name']}: {exc}") from exc


@pytest.mark.parametrize("broken", [
    lambda d: d["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="Always"),  # a typo
    lambda d: d["spec"].update(replicas="two"),
])
def test_the_kubernetes_validator_rejects_a_broken_deployment(broken: Any) -> None:
    doc = json.loads(json.dumps(_by_kind("Deployment")["intake"]))
    broken(doc)
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(doc)


@pytest.mark.parametrize("broken", [
    lambda d: d["spec"].update(minReplicas=1),  # an HPA's field, not a ScaledObject's
    lambda d: d["spec"]["triggers"][0].pop("metadata"),
    lambda d: d["spec"].update(maxReplicaCount="many"),
])
def test_the_keda_schema_rejects_a_broken_scaled_object(broken: Any) -> None:
    doc = json.loads(json.dumps(_by_kind("ScaledObject")["routing"]))
    broken(doc)
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_workers_scale_on_consumer_lag_and_api_replicas_on_cpu_with_disruption_budgets() -> None:
    deployments, scaled, hpas = _by_kind("Deployment"), _by_kind("ScaledObject"), _by_kind("HorizontalPodAutoscaler")
    pdbs = list(_by_kind("PodDisruptionBudget").values())
    for svc in SERVICES:
        worker, api = deployments[svc.name], deployments[f"{svc.name}-api"]
        prefix = svc.name.upper()
        assert f"{prefix}_RUN_RELAY" not in _env(worker) and f"{prefix}_RUN_CONSUMER" not in _env(worker)
        assert _env(api)[f"{prefix}_RUN_RELAY"] == "false" and _env(api)[f"{prefix}_RUN_CONSUMER"] == "false"

        so = scaled[svc.name]
        assert so["spec"]["scaleTargetRef"]["name"] == svc.name and so["spec"]["minReplicaCount"] >= 1
        (trigger,) = so["spec"]["triggers"]
        assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == f"{svc.name}-svc"
        assert "KAFKA_BOOTSTRAP_SERVERS" == trigger["metadata"]["bootstrapServersFromEnv"]
        config = _by_kind("ConfigMap")["fengqiao-config"]["data"]
        assert so["spec"]["maxReplicaCount"] <= int(config["FQ_KAFKA_TOPIC_PARTITIONS"])

        hpa = hpas[f"{svc.name}-api"]
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{svc.name}-api"}
        assert hpa["spec"]["scaleTargetRef"] == target
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        for d in (worker, api):
            labels = d["spec"]["template"]["metadata"]["labels"]
            covering = [p for p in pdbs
                        if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
            assert len(covering) == 1, f"{d['metadata']['name']}: one PodDisruptionBudget"
            # the Service and the scrape target (headless <svc>-pods) select both Deployments' pods
            for service in (_by_kind("Service")[svc.name], _by_kind("Service")[f"{svc.name}-pods"]):
                assert service["spec"]["selector"].items() <= labels.items()
    assert _by_kind("Service")["intake-pods"]["spec"]["clusterIP"] == "None"


def test_every_required_production_variable_is_set() -> None:
    config = _by_kind("ConfigMap")["fengqiao-config"]["data"]
    ingress = _by_kind("Ingress")["fengqiao"]
    (host,) = {r["host"] for r in ingress["spec"]["rules"]}
    assert config["NOTIFY_PUBLIC_BASE_URL"] == f"https://{host}"
    assert config["FQ_FORWARDED_ALLOW_IPS"] and "127.0.0.1" not in config["FQ_FORWARDED_ALLOW_IPS"]
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    assert 'forwarded="${FQ_FORWARDED_ALLOW_IPS:-' in entrypoint
    assert '--proxy-headers --forwarded-allow-ips "$forwarded"' in entrypoint


def _app(svc: Any) -> Any:
    return importlib.import_module(f"{svc.package}.app").create_app(
        settings_for(svc, "postgresql://nobody@127.0.0.1:1/none", "127.0.0.1:1"))


def _routes(svc: Any) -> list[str]:
    """A service's paths as the app serves them: its OpenAPI paths, the pages kept out of the schema (the docs under
    ``/docs/<service>/`` included) and a file under each static mount."""
    app = _app(svc)
    paths = list(app.openapi()["paths"])
    paths += [r.path for r in app.routes if isinstance(r, Route) and not r.include_in_schema]
    paths += [r.path + "/app.js" for r in app.routes if isinstance(r, Mount)]
    return [p for p in paths if p not in PER_POD]


def _backend(ingress: dict[str, Any], path: str) -> str | None:
    """ingress-nginx with use-regex: the regex rules first, then the longest matching Prefix."""
    rules = [p for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
    for rule in rules:
        if rule["pathType"] == "ImplementationSpecific" and re.match(rule["path"], path, re.IGNORECASE):
            return str(rule["backend"]["service"]["name"])
    prefixes = [r for r in rules if r["pathType"] == "Prefix"
                and (path == r["path"] or path.startswith(r["path"].rstrip("/") + "/"))]
    if not prefixes:
        return None
    return str(max(prefixes, key=lambda r: len(r["path"]))["backend"]["service"]["name"])


def test_the_ingress_sends_every_route_to_its_own_service_and_keeps_internal_routes_inside() -> None:
    ingress = _by_kind("Ingress")["fengqiao"]
    checked = 0
    for svc in SERVICES:
        for route in _routes(svc):
            path = re.sub(r"\{[^}]+\}", "0f8e7c2a-1234", route)
            if route.startswith("/api/v1/internal/"):
                assert _backend(ingress, path) is None, f"{route} must not be reachable from outside"
            else:
                assert _backend(ingress, path) == svc.name, f"{route} of {svc.name} goes to {_backend(ingress, path)}"
                checked += 1
    assert checked > 60
    # the split of /api/v1/cases: routing owns exactly these two subpaths
    assert _backend(ingress, "/api/v1/cases/abc/routing") == "routing"
    assert _backend(ingress, "/api/v1/cases/abc/routing/x") == "intake"
    assert _backend(ingress, "/api/v1/cases") == "intake"


def test_each_service_docs_are_claimed_once_behind_the_one_origin() -> None:
    """The four services' Swagger UI, ReDoc, OpenAPI document and assets under ``/docs/<service>/``: no path served by
    two services (outside the per-pod probes), each docs path routed to its own service, the bare ``/docs`` and
    ``/openapi.json`` of a single service nowhere."""
    ingress = _by_kind("Ingress")["fengqiao"]
    owners: dict[str, list[str]] = {}
    for svc in SERVICES:
        routes = _routes(svc)
        for route in set(routes):
            owners.setdefault(route, []).append(svc.name)
        docs = [f"/docs/{svc.name}/", f"/docs/{svc.name}/redoc", f"/docs/{svc.name}/openapi.json",
                f"/docs/{svc.name}/static/app.js"]
        assert set(docs) <= set(routes), f"{svc.name} serves its docs elsewhere: {sorted(routes)}"
        for path in docs:
            assert _backend(ingress, path) == svc.name, f"{path} goes to {_backend(ingress, path)}"
    twice = {p: names for p, names in owners.items() if len(names) > 1}
    assert not twice, f"paths served by more than one service: {twice}"
    for path in ("/docs", "/docs/", "/redoc", "/openapi.json", "/docs-static/swagger-ui.css"):
        assert _backend(ingress, path) is None, path
