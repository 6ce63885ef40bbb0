"""Shared fixtures. CDK apps are synthesized once per session (or module) and shared.

* ``dev_templates``: the default environment synthesized by the real CDK CLI (``cdk synth``),
  exactly as ``make synth`` does it, offline.
* ``prod_templates``: the prod environment synthesized in-process with ``stacks.app.build_app``.
* ``synth_stacks``: helper for construct tests: synthesize an app once, return Templates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_BIN = ROOT / "node_modules" / ".bin"


@pytest.fixture(scope="session", autouse=True)
def offline_aws_env() -> Iterator[None]:
    """No real AWS credentials or profile can be used; Node 22 from node_modules comes first."""
    saved = dict(os.environ)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        PATH=f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    yield
    os.environ.clear()
    os.environ.update(saved)


def recommended_context() -> dict[str, Any]:
    """The feature flags of cdk.json, without the app configuration."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {k: v for k, v in context.items() if k.startswith("@aws-cdk")}


def unit_app() -> Any:
    """An App for construct tests: the project's feature flags, no built-in CloudFormation
    validation (the app-level fixtures keep it; here it would only cost seconds per synth)."""
    from aws_cdk import App

    context = {**recommended_context(), "aws:cdk:enable-path-metadata": True}
    return App(context=context, builtin_cloud_formation_validation=False)


def templates_from_assembly(assembly: Any) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    return {s.stack_name: Template.from_json(s.template) for s in assembly.stacks}


@pytest.fixture(scope="session")
def synth_stacks() -> Callable[[Any], dict[str, Any]]:
    """``synth_stacks(app) -> {stack_name: Template}``, one synthesis for the whole app."""

    def synth(app: Any) -> dict[str, Any]:
        return templates_from_assembly(app.synth())

    return synth


def cdk_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Any:
    cdk = NODE_BIN / "cdk"
    if not cdk.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make setup` (npm ci)")
    return subprocess.run(
        [str(cdk), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CI": "true", **(env or {})},
    )


@pytest.fixture(scope="session")
def dev_cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``cdk synth`` of the default environment with the real CLI into a temporary cdk.out."""
    outdir = tmp_path_factory.mktemp("cdk.out.dev")
    result = cdk_cli("synth", "--quiet", "--output", str(outdir))
    assert result.returncode == 0, result.stdout + result.stderr
    return result, outdir


@pytest.fixture(scope="session")
def dev_templates(dev_cli_synth: tuple[Any, Path]) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    _, outdir = dev_cli_synth
    return {
        p.name.removesuffix(".template.json"): Template.from_json(json.loads(p.read_text()))
        for p in outdir.glob("*.template.json")
    }


@pytest.fixture(scope="session")
def prod_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    from stacks.app import build_app

    return build_app({"env": "prod"}, outdir=str(tmp_path_factory.mktemp("cdk.out.prod")))


@pytest.fixture(scope="session")
def prod_templates(prod_app: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    app, _ = prod_app
    return templates_from_assembly(app.synth())


REQUIRED_TAGS = {"project": "ecskit", "owner": "platform-team"}


def assert_tagged(templates: dict[str, Any], env: str) -> None:
    """Every resource with a Tags list carries project, environment and owner."""
    tagged = 0
    for name, template in templates.items():
        for logical_id, resource in template.to_json()["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if not isinstance(tags, list):
                continue
            values = {t["Key"]: t["Value"] for t in tags if "Key" in t}
            assert values.get("environment") == env, (name, logical_id)
            for key, value in REQUIRED_TAGS.items():
                assert values.get(key) == value, (name, logical_id, key)
            tagged += 1
    assert tagged > 10


# Snapshots: whole templates, with what differs between machines or CDK asset builds replaced.
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_ASSET_BUCKET = re.compile(r"cdk-[a-z0-9]+-assets-[A-Za-z0-9${}:.-]+")


def asset_hash_matcher(*, data: Any, path: Any) -> Any:
    """syrupy matcher: asset hashes (``<hash>.zip``/``.json`` keys, asset paths) and the
    bootstrap assets bucket become placeholders; CDK's analytics blob (versions) too."""
    if isinstance(data, str):
        if path and path[-1][0] == "Analytics":
            return "<cdk-analytics>"
        return _ASSET_BUCKET.sub("<assets-bucket>", _ASSET_HASH.sub("<asset-hash>", data))
    return data


@pytest.fixture
def template_snapshot(snapshot: Any) -> Any:
    """``assert template.to_json() == template_snapshot``: JSON, asset hashes normalised.
    Update on purpose with ``make snapshot-update``."""
    from syrupy.extensions.json import JSONSnapshotExtension

    return snapshot.with_defaults(extension_class=JSONSnapshotExtension, matcher=asset_hash_matcher)
