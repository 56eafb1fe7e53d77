"""Turn a published CustomResourceDefinition into the trimmed JSON Schema vendored beside this file.

Run by hand when an operator version changes (never by the tests)::

    python tests/deploy/schemas/extract.py CRD.yaml VERSION OUT.json --source "<repo>@<tag>:<path>"

Keeps the ``openAPIV3Schema`` of the served ``VERSION`` as published, minus what validation does
not need: every ``description`` and the ``status`` subtree (written by the operator, never by
us). The JSON keeps the CRD's group, kind and version so the tests can find it by apiVersion.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml


def _trim(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _trim(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_trim(v) for v in node]
    return node


def extract(crd: dict[str, Any], version: str, source: str) -> dict[str, Any]:
    """The trimmed schema of ``version`` of one CRD document."""
    spec = crd["spec"]
    served = [v for v in spec["versions"] if v["name"] == version and v.get("served", True)]
    if not served:
        raise SystemExit(f"{spec['names']['kind']}: no served version {version!r}")
    schema = _trim(served[0]["schema"]["openAPIV3Schema"])
    schema.get("properties", {}).pop("status", None)
    return {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "version": version,
        "source": source,
        "schema": schema,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crd", type=Path)
    parser.add_argument("version")
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", required=True, help="where the CRD came from")
    args = parser.parse_args()
    docs = [d for d in yaml.safe_load_all(args.crd.read_text(encoding="utf-8")) if d]
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != 1:
        raise SystemExit(f"{args.crd}: expected one CustomResourceDefinition, found {len(crds)}")
    result = extract(crds[0], args.version, args.source)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
