"""``deploy`` / ``destroy`` against the emulator with the real CDK CLI, then ``ecskit status``.

``deploy``: start the emulator (or reuse the one running from the state directory), synthesize
the environment once into ``<state dir>/cdk.out.<env>`` (or take a given cloud assembly),
``cdk bootstrap`` each region, ``cdk deploy --all --require-approval never --app <assembly>``,
then ``ecskit status`` on every deployed service. The emulator stays up for the developer;
``destroy`` (or ``stop``) ends it. A failure stops an emulator this call started. A running
emulator is reused only while it has none of the stacks (moto cannot update them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from constructs_lib.local.errors import LocalEmulatorError
from constructs_lib.local.patches import ACCOUNT_ID
from constructs_lib.local.server import (
    DEFAULT_PORT,
    Emulator,
    default_state_dir,
    emulator_env,
    running,
    start,
    stop,
)

Printer = Callable[[str], None]


@dataclass
class DeployResult:
    """What ``deploy`` did: the emulator, the stacks and where the time went (seconds)."""

    emulator: Emulator
    assembly: Path
    stacks: list[str]
    region: str
    timings: dict[str, float] = field(default_factory=dict)
    status_exit_code: int = 0


def cdk_executable(root: Path | None = None) -> str:
    """``node_modules/.bin/cdk`` of ``root`` (default: the current directory), else ``cdk`` on
    PATH. Raises :class:`LocalEmulatorError` when there is none."""
    local = (root or Path.cwd()) / "node_modules" / ".bin" / "cdk"
    if local.exists():
        return str(local)
    found = shutil.which("cdk")
    if found is None:
        raise LocalEmulatorError(
            "cdk: not found in node_modules/.bin or on PATH; run `make setup` (npm ci)"
        )
    return found


def _cli_env(emulator: Emulator, region: str, cdk: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    env.update(emulator_env(emulator.port, emulator.state_dir, region))
    env["AWS_REGION"] = region
    env["CI"] = "true"  # no interactive prompts, plain progress output
    env["PATH"] = f"{Path(cdk).parent}{os.pathsep}{env.get('PATH', '')}"  # Node 22 first
    return env


CLI_TIMEOUT = 600.0
"""Seconds one CDK CLI command may take against the emulator (the dev app needs ~15 s): a
command that waits for something moto never does fails instead of hanging."""


def _run(argv: list[str], env: dict[str, str], what: str, echo: Printer | None) -> None:
    """Run a CDK CLI command; its output goes to ``echo`` (line by line) or is kept for the
    error message. Raises :class:`LocalEmulatorError` on a non-zero exit or after
    ``CLI_TIMEOUT`` seconds (the command is killed)."""
    try:
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, check=False, timeout=CLI_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise LocalEmulatorError(
            f"{what}: no result after {CLI_TIMEOUT:.0f} s against the emulator; stopped it "
            "(a moto gap: see constructs_lib/local/patches.py)"
        ) from None
    output = (result.stdout + result.stderr).strip()
    if echo is not None and output:
        for line in output.splitlines():
            echo(f"  {line}")
    if result.returncode != 0:
        tail = " | ".join(line.strip() for line in output.splitlines()[-6:])
        raise LocalEmulatorError(f"{what}: failed (exit {result.returncode}): {tail}")


def read_assembly(assembly: Path) -> tuple[list[str], str]:
    """Stack names (deployment order as in the manifest) and the one region of a cloud
    assembly; refuses stacks pinned to an account moto does not model."""
    try:
        manifest = json.loads((assembly / "manifest.json").read_text())
    except FileNotFoundError:
        raise LocalEmulatorError(
            f"app: got {assembly}; not a cloud assembly (no manifest.json): run cdk synth"
        ) from None
    stacks: list[str] = []
    regions: set[str] = set()
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        if account not in ("unknown-account", ACCOUNT_ID):
            raise LocalEmulatorError(
                f"stack {name}: pinned to account {account}; the local emulator models account "
                f"{ACCOUNT_ID} only: deploy this environment to AWS (make deploy TARGET=aws)"
            )
        stacks.append(artifact.get("displayName", name))
        regions.add(region)
    if len(regions) != 1:
        raise LocalEmulatorError(f"app: stacks in regions {sorted(regions)}; expected exactly one")
    return stacks, regions.pop()


def _refuse_redeploy(emulator: Emulator, region: str, stacks: list[str]) -> None:
    """moto cannot update a deployed stack of this app (its update path fails on the stacks'
    SSM parameters; the CDK CLI only skips a stack when nothing may have changed): a second
    deploy into the same emulator is refused up front instead of failing half-way."""
    import boto3  # noqa: PLC0415 - only when reusing an emulator

    cfn = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    ).client("cloudformation", endpoint_url=emulator.endpoint)
    deployed = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    for stack in stacks:
        if stack in deployed:
            raise LocalEmulatorError(
                f"stack {stack}: already deployed in the running emulator ({emulator.endpoint}, "
                f"pid {emulator.pid}); moto cannot update a deployed stack: run make destroy "
                "(or python -m constructs_lib.local stop), then deploy again"
            )


def _services(emulator: Emulator, region: str, stacks: list[str]) -> dict[str, list[str]]:
    """``{cluster name: [service names]}`` of the ECS services the stacks created."""
    import boto3  # noqa: PLC0415 - only after a deploy

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    cfn = session.client("cloudformation", endpoint_url=emulator.endpoint)
    ecs = session.client("ecs", endpoint_url=emulator.endpoint)
    arns: list[str] = []
    for stack in stacks:
        resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
        arns += [
            r["PhysicalResourceId"]
            for r in resources
            if r.get("ResourceType") == "AWS::ECS::Service"
        ]
    found: dict[str, list[str]] = {}
    for cluster_arn in ecs.list_clusters()["clusterArns"]:
        for arn in ecs.list_services(cluster=cluster_arn)["serviceArns"]:
            if arn in arns:
                found.setdefault(cluster_arn.split("/")[-1], []).append(arn.split("/")[-1])
    return found


def deploy(
    env_name: str = "dev",
    *,
    port: int = DEFAULT_PORT,
    state_dir: Path | None = None,
    app: Path | None = None,
    echo: Printer | None = print,
    show_status: bool = True,
) -> DeployResult:
    """Deploy ``env_name`` (default dev) into the emulator; see the module docstring.

    ``app``: an existing cloud assembly to deploy (default: ``cdk synth -c env=<env_name>``
    into ``<state dir>/cdk.out.<env>``). ``echo`` gets the progress lines and the CDK CLI's
    output (None: quiet). Raises :class:`LocalEmulatorError`; an emulator started by this call
    is stopped first.
    """
    state = state_dir or default_state_dir()
    say = echo or (lambda _line: None)
    emulator = running(state)
    started_here = emulator is None
    timings: dict[str, float] = {}
    began = time.monotonic()
    if emulator is None:
        emulator = start(port, state_dir=state)  # stops its server itself when it fails
    try:
        if started_here:
            say(f"emulator: started {emulator.endpoint} (pid {emulator.pid})")
        else:
            say(f"emulator: reusing the one running on {emulator.endpoint} (pid {emulator.pid})")
        timings["start"] = time.monotonic() - began
        cdk = cdk_executable()
        if app is None:
            app = state / f"cdk.out.{env_name}"
            tick = time.monotonic()
            env = _cli_env(emulator, "us-east-1", cdk)
            _run(
                [cdk, "synth", "--quiet", "-c", f"env={env_name}", "--output", str(app)],
                env,
                "cdk synth",
                None,
            )
            timings["synth"] = time.monotonic() - tick
        stacks, region = read_assembly(app)
        if not started_here:
            _refuse_redeploy(emulator, region, stacks)
        env = _cli_env(emulator, region, cdk)
        tick = time.monotonic()
        say(f"cdk bootstrap aws://{ACCOUNT_ID}/{region}")
        _run(
            [cdk, "bootstrap", f"aws://{ACCOUNT_ID}/{region}", "--app", str(app)],
            env,
            "cdk bootstrap",
            None,
        )
        timings["bootstrap"] = time.monotonic() - tick
        tick = time.monotonic()
        say(f"cdk deploy --all ({', '.join(stacks)})")
        _run(
            [
                cdk,
                "deploy",
                "--all",
                "--app",
                str(app),
                "--require-approval",
                "never",
                "--progress",
                "events",
            ],
            env,
            "cdk deploy",
            echo,
        )
        timings["deploy"] = time.monotonic() - tick
        result = DeployResult(emulator, app, stacks, region, timings)
        if show_status:
            result.status_exit_code = _status(emulator, region, stacks, say)
        return result
    except BaseException:
        if started_here:
            stop(state)
            say("emulator: stopped (the deploy failed)")
        raise


def _status(emulator: Emulator, region: str, stacks: list[str], say: Printer) -> int:
    from constructs_lib.runtime.cli import main as ecskit  # noqa: PLC0415 - after a deploy

    saved = dict(os.environ)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_DEFAULT_PROFILE", None)
    os.environ.update(emulator_env(emulator.port, emulator.state_dir, region))
    try:
        return _status_calls(emulator, region, stacks, say, ecskit)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _status_calls(
    emulator: Emulator,
    region: str,
    stacks: list[str],
    say: Printer,
    ecskit: Callable[[list[str]], int],
) -> int:
    code = 0
    for cluster, services in _services(emulator, region, stacks).items():
        argv = [
            "status",
            "--cluster",
            cluster,
            *services,
            "--region",
            region,
            "--endpoint-url",
            emulator.endpoint,
        ]
        say(f"ecskit {' '.join(argv)}")
        code = max(code, ecskit(argv))
    return code


def destroy(
    env_name: str = "dev",
    *,
    state_dir: Path | None = None,
    app: Path | None = None,
    echo: Printer | None = print,
) -> bool:
    """``cdk destroy --all --force`` of ``app`` (default: the assembly ``deploy`` synthesized
    into the state directory) against the running emulator, then stop it. moto refuses
    to delete a VPC that still has dependencies it does not track (known moto gap): that
    error is reported and ignored, since stopping the emulator discards every resource anyway
    (moto keeps its state in memory). Returns False when no emulator was running."""
    state = state_dir or default_state_dir()
    say = echo or (lambda _line: None)
    emulator = running(state)
    if emulator is None:
        say("emulator: not running; nothing to destroy")
        return False
    app = app or state / f"cdk.out.{env_name}"
    try:
        if (app / "manifest.json").exists():
            stacks, region = read_assembly(app)
            cdk = cdk_executable()
            say(f"cdk destroy --all --force ({', '.join(stacks)})")
            try:
                _run(
                    [cdk, "destroy", "--all", "--force", "--app", str(app)],
                    _cli_env(emulator, region, cdk),
                    "cdk destroy",
                    None,
                )
            except LocalEmulatorError as exc:
                if "has dependencies and cannot be deleted" in str(exc):
                    say(
                        "cdk destroy: moto's known VPC dependency error (it keeps ENIs/rules it "
                        "does not track); ignored: stopping the emulator removes every resource"
                    )
                else:
                    say(f"{exc} (ignored: stopping the emulator removes every resource)")
    finally:
        stop(state)
        say(f"emulator: stopped (was {emulator.endpoint}, pid {emulator.pid})")
    return True
