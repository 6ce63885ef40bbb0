"""Shared fixtures. CDK apps are synthesized once per session (or module) and shared.

* ``dev_templates``: the default environment synthesized by the real CDK CLI (``cdk synth``),
  exactly as ``make synth`` does it, offline.
* ``prod_templates`` / ``prod_manifest``: the prod environment synthesized in-process with
  ``stacks.app.build_app``.
Both apps are synthesized once per run, shared by the pytest-xdist workers (``produce_once``).
* ``synth_stacks``: helper for construct tests: synthesize an app once, return Templates.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The ``ecskit`` configuration of cdk.json (tests change copies: :func:`with_value`)."""
    data: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]["ecskit"]
    return data


def with_value(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``value`` at dotted ``path`` (list indexes as numbers)."""
    data = copy.deepcopy(raw)
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


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


def shared_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory every pytest-xdist worker of this run sees (the run's own base otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name


@contextmanager
def produce_once(path: Path) -> Iterator[bool]:
    """Yield True to the first process of the run, which must fill ``path``; the others wait
    for it and get False. An app is synthesized once per run, not once per worker."""
    path.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = (path / ".done").exists()
            yield not done
            (path / ".done").touch()  # reached only when producing succeeded
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_templates(outdir: Path) -> dict[str, Any]:
    from aws_cdk.assertions import Template

    return {
        p.name.removesuffix(".template.json"): Template.from_json(json.loads(p.read_text()))
        for p in outdir.glob("*.template.json")
    }


@pytest.fixture(scope="session")
def dev_cli_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``cdk synth`` of the default environment with the real CLI into a temporary cdk.out
    (once per run), and what the CLI printed."""
    outdir = shared_dir(tmp_path_factory, "cdk.out.dev")
    printed = outdir / "cli-output.json"
    with produce_once(outdir) as first:
        if first:
            result = cdk_cli("synth", "--quiet", "--output", str(outdir))
            assert result.returncode == 0, result.stdout + result.stderr
            printed.write_text(json.dumps({"stdout": result.stdout, "stderr": result.stderr}))
    output = json.loads(printed.read_text())
    return subprocess.CompletedProcess(["cdk", "synth"], 0, **output), outdir


@pytest.fixture(scope="session")
def dev_templates(dev_cli_synth: tuple[Any, Path]) -> dict[str, Any]:
    return read_templates(dev_cli_synth[1])


@pytest.fixture(scope="session")
def prod_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prod environment synthesized in-process with ``stacks.app.build_app`` (built-in
    CloudFormation validation on) into a temporary cdk.out, once per run."""
    outdir = shared_dir(tmp_path_factory, "cdk.out.prod")
    with produce_once(outdir) as first:
        if first:
            from stacks.app import build_app

            app, _ = build_app({"env": "prod"}, outdir=str(outdir))
            app.synth()
    return outdir


@pytest.fixture(scope="session")
def prod_templates(prod_synth: Path) -> dict[str, Any]:
    return read_templates(prod_synth)


@pytest.fixture(scope="session")
def prod_manifest(prod_synth: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((prod_synth / "manifest.json").read_text())
    return manifest


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
