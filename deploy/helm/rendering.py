"""A `helm template` rendering of deploy/helm/simlab as data, with the values it was rendered
with, for the checks (check_rendered.py, check_netpol.py) to look objects up in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/simlab"
COMPONENT_LABEL = "app.kubernetes.io/component"

Obj = dict[str, Any]


class NotARendering(Exception):
    """The file is not YAML, or a document in it is not a Kubernetes object."""


def merged_values(values_file: Path | None) -> Obj:
    """The chart's values.yaml with `values_file` merged over it, as helm merges them."""

    def merge(base: Obj, over: Obj) -> Obj:
        out = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    if values_file is not None:
        values = merge(values, yaml.safe_load(values_file.read_text()) or {})
    return values


def pod_template(obj: Obj) -> Obj | None:
    """Where an object describes its pods (metadata and spec): a Pod is its own, a workload
    has a template; None for objects that run no pods."""
    if obj["kind"] == "Pod":
        return obj
    if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return obj["spec"]["template"]
    return None


# How an env entry names the key it takes its value from, by the kind it reads.
KEY_REFS = {"configMapKeyRef": "ConfigMap", "secretKeyRef": "Secret"}


def key_ref(env_entry: Obj) -> tuple[str, Obj] | None:
    """The ConfigMap or Secret key an env entry takes its value from: (kind, {name, key})."""
    value_from = env_entry.get("valueFrom", {})
    return next(
        ((kind, value_from[field]) for field, kind in KEY_REFS.items() if field in value_from),
        None,
    )


@dataclass(frozen=True)
class Rendering:
    docs: list[Obj]
    values: Obj

    @property
    def kinds(self) -> Counter[str]:
        return Counter(d["kind"] for d in self.docs)

    def of_kind(self, kind: str) -> list[Obj]:
        return [d for d in self.docs if d["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {d["metadata"]["name"] for d in self.of_kind(kind)}

    def named(self, kind: str, name: str | None, namespace: str | None = None) -> Obj | None:
        """The first object of this kind and name (in this namespace, when given)."""
        return next(
            (
                d
                for d in self.of_kind(kind)
                if d["metadata"]["name"] == name
                and (namespace is None or d["metadata"]["namespace"] == namespace)
            ),
            None,
        )

    def component(self, kind: str, component: str) -> Obj | None:
        """The first object of this kind labelled as this component of the chart."""
        return next(
            (
                d
                for d in self.of_kind(kind)
                if d["metadata"]["labels"].get(COMPONENT_LABEL) == component
            ),
            None,
        )

    def workloads(self) -> Iterator[tuple[Obj, Obj]]:
        """Every object that runs pods, with what its pods are made from (pod_template)."""
        for d in self.docs:
            template = pod_template(d)
            if template is not None:
                yield d, template


def read_rendering(path: Path, values: Obj) -> Rendering:
    """The objects of a rendering; raises NotARendering with what is wrong with it."""
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as error:
        raise NotARendering(f"{path}: not valid YAML: {error}") from error
    problems = [
        f"document {i}: not a Kubernetes object (apiVersion, kind, metadata.name)"
        for i, d in enumerate(docs)
        if not (
            isinstance(d, dict)
            and d.get("apiVersion")
            and d.get("kind")
            and (d.get("metadata") or {}).get("name")
        )
    ]
    if problems:
        raise NotARendering("\n".join(problems))
    return Rendering(docs, values)
