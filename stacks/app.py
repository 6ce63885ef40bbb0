"""Builds the ecskit CDK app for one environment; ``app.py`` is a thin wrapper around :func:`main`.

Context comes from ``cdk.json`` (read here too, so ``python app.py`` and the tests see what
``cdk synth`` sees), overlaid by what the CDK CLI passes (``-c env=prod``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks.compliance import (
    REPORT_FILE,
    ResolvedAcknowledgement,
    acknowledge,
    match_acknowledgements,
    read_report,
    stale_acknowledgements,
)
from stacks.config import (
    CONTEXT_KEY,
    ENV_CONTEXT_KEY,
    AppConfig,
    ConfigError,
    EnvironmentConfig,
    load_config,
    select_environment,
)

ROOT = Path(__file__).resolve().parent.parent


def project_context(root: Path = ROOT) -> dict[str, Any]:
    """The context of ``cdk.json`` plus the committed ``cdk.context.json`` (if any)."""
    context: dict[str, Any] = {}
    for name, key in (("cdk.json", "context"), ("cdk.context.json", None)):
        path = root / name
        if path.exists():
            data = json.loads(path.read_text())
            context.update(data.get(key, {}) if key else data)
    return context


def stack_name(config: AppConfig, env_name: str, kind: str) -> str:
    """``<App>-<env>-<Kind>``, e.g. ``ecskit-dev-Network``: a public contract, do not rename."""
    return f"{config.app}-{env_name}-{kind}"


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Validate the configuration, then build the app's stacks for the selected environment.

    ``context`` overrides the project context (tests pass ``{"env": "prod"}``). Returns the
    ``cdk.App`` and its stacks by kind (``network``, ``platform`` and, when the environment
    lists services, ``services``). Raises
    :class:`ConfigError` before importing or touching any CDK construct.

    The app carries the compliance gate: cdk-nag's AwsSolutions pack as a validation plugin
    (``app.synth()`` raises, ``cdk synth`` fails, on a finding that is neither fixed nor
    acknowledged) and the acknowledgements of ``stacks/compliance.py``.
    """
    merged = {**project_context(), **(context or {})}
    config, env_name, env_config = _select(merged)
    import aws_cdk as cdk  # noqa: PLC0415 - after validation: bad config never boots jsii
    from cdk_nag import AwsSolutionsChecks  # noqa: PLC0415

    from stacks.platform import NetworkStack, PlatformStack  # noqa: PLC0415
    from stacks.services import ServiceStack  # noqa: PLC0415

    if env_config.account:
        # A stack pinned to an account looks up its region's AZs (ec2.Vpc checks the given
        # AZs against them); answer from the configuration so synth never calls AWS.
        az_key = f"availability-zones:account={env_config.account}:region={env_config.region}"
        merged.setdefault(az_key, list(env_config.availability_zones))
    app = cdk.App(context=merged, outdir=outdir)
    env = cdk.Environment(account=env_config.account, region=env_config.region)
    tags = _tags(config, env_name, env_config)
    network = NetworkStack(
        app,
        stack_name(config, env_name, "Network"),
        config=env_config,
        env=env,
        description=f"{config.app} {env_name}: VPC",
    )
    platform = PlatformStack(
        app,
        stack_name(config, env_name, "Platform"),
        config=env_config,
        network=network.network,
        env=env,
        description=f"{config.app} {env_name}: ECR repository and ECS cluster",
    )
    stacks: dict[str, Any] = {"network": network, "platform": platform}
    if env_config.services:
        stacks["services"] = ServiceStack(
            app,
            stack_name(config, env_name, "Services"),
            config=env_config,
            network=network.network,
            cluster=platform.cluster,
            repository=platform.repository,
            name_prefix=f"{config.app}-{env_name}",
            env=env,
            description=f"{config.app} {env_name}: load balancers and ECS services",
        )
    for stack in stacks.values():
        for key, value in tags.items():
            cdk.Tags.of(stack).add(key, value)
    # The compliance gate: cdk-nag's AwsSolutions pack over every stack; synth fails on a
    # finding that is neither fixed nor acknowledged in stacks/compliance.py.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    acknowledge(nag_acknowledgements(config, env_name, env_config, stacks))
    return app, stacks


def nag_acknowledgements(
    config: AppConfig, env_name: str, env_config: EnvironmentConfig, stacks: Mapping[str, Any]
) -> list[ResolvedAcknowledgement]:
    """The cdk-nag acknowledgements (``stacks/compliance.py``) matched in the built ``stacks``
    (as returned by :func:`build_app`) of one environment."""
    return match_acknowledgements(
        {kind.capitalize(): stack for kind, stack in stacks.items()},
        region=env_config.region,
        account=env_config.account,
        prefix=f"{config.app}-{env_name}",
    )


def _select(merged: Mapping[str, Any]) -> tuple[AppConfig, str, EnvironmentConfig]:
    # The CLI passes -c values as CDK_CONTEXT_JSON; read env from it before building anything.
    cli_context = _cli_context()
    config = load_config(cli_context.get(CONTEXT_KEY, merged.get(CONTEXT_KEY)))
    env_name, env_config = select_environment(
        config, cli_context.get(ENV_CONTEXT_KEY, merged.get(ENV_CONTEXT_KEY))
    )
    return config, env_name, env_config


def _tags(config: AppConfig, env_name: str, env_config: EnvironmentConfig) -> dict[str, str]:
    return {
        "project": config.app,
        "environment": env_name,
        "owner": config.owner,
        **env_config.tags,
    }


def _cli_context() -> dict[str, Any]:
    raw = os.environ.get("CDK_CONTEXT_JSON")
    return json.loads(raw) if raw else {}


def synthesize(app: Any) -> Any:
    """``app.synth()``; ``None`` after one ``ecskit:`` line on stderr when a validation plugin
    (cdk-nag) failed - CDK has printed each finding above it - instead of a jsii traceback.
    Any other error propagates."""
    try:
        return app.synth()
    except RuntimeError as exc:
        message = str(exc)
        if not message.startswith("ValidationFailed"):
            raise
        where = Path(app.outdir).resolve() / REPORT_FILE
        print(
            "ecskit: cdk-nag: unacknowledged finding(s), listed above (report: "
            f"{where}); fix them in the constructs, or acknowledge one with a reason in "
            "stacks/compliance.py",
            file=sys.stderr,
        )
        return None


def main() -> int:
    """``python app.py``: synthesize into ``cdk.out`` (or the CLI's ``CDK_OUTDIR``).

    Returns 1 for an invalid configuration, before any CDK code runs: stderr gets a header
    line and one line per problem, each starting with its exact key path
    (``ecskit.environments.dev.network.max_azs: got 0; ...``).
    """
    try:
        app, stacks = build_app(
            outdir=None if os.environ.get("CDK_OUTDIR") else str(ROOT / "cdk.out")
        )
    except ConfigError as exc:
        count = len(exc.problems)
        print(
            f"ecskit: invalid configuration ({count} problem{'s' if count > 1 else ''}):",
            *exc.problems,
            sep="\n",
            file=sys.stderr,
        )
        return 1
    assembly = synthesize(app)
    if assembly is None:
        return 1
    if (Path(assembly.directory) / REPORT_FILE).exists():
        config, env_name, env_config = _select(project_context())
        stale = stale_acknowledgements(
            read_report(assembly.directory),
            nag_acknowledgements(config, env_name, env_config, stacks),
        )
        for entry in stale:
            print(
                "ecskit: stale cdk-nag acknowledgement in stacks/compliance.py: "
                f"{entry.display_finding} "
                f"on {entry.stack}/{entry.path} suppresses nothing in {env_name}; delete it "
                "or narrow it",
                file=sys.stderr,
            )
        if stale:
            return 1
    return 0
