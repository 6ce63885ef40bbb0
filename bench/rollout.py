"""Benchmark: ``ecskit rollout`` vs the boto3 ``services_stable`` waiter, on an injected clock.

Scenario (scripted, tests/runtime/scenario.py FleetScript; no AWS, no moto, no network): 50
services roll out 3 tasks each, one task every 20 s, starts staggered by 2 s; ``svc17`` trips
its circuit breaker at t=150 s and ECS rolls it back, finishing at t=450 s. A second run has no
failure. Both watchers use the same scripted boto3 client; the waiter's ``time.sleep`` is
patched to the fake clock. The waiter takes at most 10 services per call, so it runs as 5
waiters in parallel (each on its own clock), as a pipeline would.

Also times ``ecskit --help`` against ``aws --version``.

Run: ``.venv/bin/python bench/rollout.py``
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
)

import boto3  # noqa: E402
import botocore.waiter  # noqa: E402

from constructs_lib.runtime.aws import make_clients  # noqa: E402
from constructs_lib.runtime.rollout import RolloutOptions, watch_rollout  # noqa: E402
from tests.runtime.scenario import FakeClock, FleetScript, Script, ServiceScript  # noqa: E402

N = 50
FAIL_AT = 150.0
SESSION = boto3.session.Session(region_name="us-east-1")


def services(failing: bool) -> dict[str, ServiceScript]:
    out = {
        f"svc{i:02d}": ServiceScript(f"svc{i:02d}", desired=3, start=i * 2.0, step=20.0)
        for i in range(N)
    }
    if failing:
        out["svc17"] = ServiceScript("svc17", desired=3, fail_at=FAIL_AT, rollback_done=300.0)
    return out


def ecskit(failing: bool) -> tuple[int, float, int]:
    clock = FakeClock()
    clients = make_clients(region="us-east-1", clock=clock, session=SESSION)
    FleetScript(clock, "main", services(failing)).install(Script(clients.ecs))
    result = watch_rollout(
        clients, RolloutOptions(cluster="main", services=tuple(services(failing))), clock=clock
    )
    return result.exit_code, clock.now(), clients.limiter.total_calls


def waiter(failing: bool) -> tuple[str, float, int, float]:
    """Returns (outcome of the group holding svc17, its end time, total calls, slowest end)."""
    names = sorted(services(failing))
    calls = 0
    outcome, group_end, slowest = "", 0.0, 0.0
    original = botocore.waiter.time
    try:
        for start in range(0, N, 10):
            group = names[start : start + 10]
            clock = FakeClock()
            botocore.waiter.time = types.SimpleNamespace(sleep=clock.sleep)  # type: ignore[assignment]
            client = SESSION.client("ecs")
            script = Script(client)
            FleetScript(clock, "main", services(failing)).install(script)
            try:
                client.get_waiter("services_stable").wait(cluster="main", services=group)
                result = "SUCCESS"
            except botocore.exceptions.WaiterError as exc:
                result = f"ERROR ({str(exc).split(':')[-1].strip()})"
            calls += sum(script.calls.values())
            slowest = max(slowest, clock.now())
            if "svc17" in group:
                outcome, group_end = result, clock.now()
    finally:
        botocore.waiter.time = original  # type: ignore[assignment]
    return outcome, group_end, calls, slowest


def per_service_minute(calls: int, seconds: float) -> float:
    return calls / N / (seconds / 60)


def wall(cmd: list[str], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    print(
        f"Scenario: {N} services, 3 tasks each; svc17 trips its circuit breaker at t={FAIL_AT:g}s"
    )
    print("(rollback finishes at t=450s). Injected clock; scripted ECS API.\n")
    code, end, calls = ecskit(failing=True)
    print("ecskit rollout (failure scenario)")
    print(f"  exit {code} at t={end:g}s; failure detected {end - FAIL_AT:.1f}s after it appeared")
    print(f"  {calls} API calls = {per_service_minute(calls, end):.2f} calls/service/minute")
    code, end, calls = ecskit(failing=False)
    print("ecskit rollout (all succeed)")
    print(
        f"  exit {code} at t={end:g}s; {calls} API calls = "
        f"{per_service_minute(calls, end):.2f} calls/service/minute"
    )

    outcome, group_end, calls, slowest = waiter(failing=True)
    print("services_stable waiter (failure scenario, 5 waiters x 10 services, 15 s delay)")
    print(
        f"  group with svc17: {outcome} at t={group_end:g}s -> the failure was never reported"
        if outcome == "SUCCESS"
        else f"  group with svc17: {outcome} at t={group_end:g}s"
    )
    print(
        f"  {calls} API calls until t={slowest:g}s = "
        f"{per_service_minute(calls, slowest):.2f} calls/service/minute"
    )
    outcome, _, calls, slowest = waiter(failing=False)
    print("services_stable waiter (all succeed)")
    print(
        f"  done at t={slowest:g}s; {calls} API calls = "
        f"{per_service_minute(calls, slowest):.2f} calls/service/minute\n"
    )

    ecskit_bin = ROOT / ".venv" / "bin" / "ecskit"
    help_cmd = (
        [str(ecskit_bin), "--help"]
        if ecskit_bin.exists()
        else [sys.executable, "-m", "constructs_lib.runtime.cli", "--help"]
    )
    ours = wall(help_cmd)
    aws = shutil.which("aws")
    if aws:
        other_cmd, label = [aws, "--version"], f"aws --version ({aws})"
    else:
        other_cmd = [
            sys.executable,
            "-c",
            "import botocore.session; botocore.session.get_session().get_service_model('ecs')",
        ]
        label = "stand-in: python -c 'load botocore ecs model' (aws CLI not installed)"
    theirs = wall(other_cmd)
    print(
        f"start-up: {' '.join(help_cmd[-2:])} {ours * 1000:.0f} ms vs {label} "
        f"{theirs * 1000:.0f} ms -> {ours / theirs:.2f}x (goal <= 0.5x)"
    )


if __name__ == "__main__":
    main()
