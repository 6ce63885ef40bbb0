"""``ecskit run``: exit codes, logs, stop on timeout/Ctrl-C, usage errors.

moto: cluster, task definition, service, RunTask, StopTask, DescribeTasks, CloudWatch Logs.
Scripted (tests/runtime/scenario.py): task phases, container exit codes, stopCode/stoppedReason
(TaskTimeline rewriting moto's DescribeTasks), RunTask failures, throttling.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from constructs_lib.runtime.cli import main
from constructs_lib.runtime.run import RunOptions, run_task
from tests.runtime.conftest import CLUSTER, LOG_GROUP, REGION, World
from tests.runtime.scenario import FakeClock, Phase, Script, TaskTimeline, when

_clock_ms = [int(time.time() * 1000)]


def put_lines(task_id: str, lines: list[str], container: str = "app") -> None:
    """Write ``lines`` to the task's stream with strictly increasing timestamps."""
    logs = boto3.client("logs", region_name=REGION)
    stream = f"ecs/{container}/{task_id}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    base = _clock_ms[0]
    _clock_ms[0] += len(lines)
    for start in range(0, len(lines), 10_000):
        chunk = lines[start : start + 10_000]
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": base + start + i, "message": m} for i, m in enumerate(chunk)],
        )


def writer(lines: list[str]) -> Callable[[str], None]:
    return lambda task_id: put_lines(task_id, lines)


def containers(app: int | None, envoy: int | None, status: str = "STOPPED") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, code in (("app", app), ("envoy", envoy)):
        c: dict[str, Any] = {"name": name, "lastStatus": status}
        if code is not None:
            c["exitCode"] = code
        out.append(c)
    return out


def timeline(clock: FakeClock, script: Script, *phases: Phase) -> TaskTimeline:
    tl = TaskTimeline(clock, list(phases))
    tl.install(script)
    return tl


RUNNING = {
    "lastStatus": "RUNNING",
    "startedAt": when(4),
    "containers": containers(None, None, "RUNNING"),
}


def run_cli(args: list[str], world: World, clock: FakeClock) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, clients=world.clients, clock=clock, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


BASE = ["run", "--cluster", CLUSTER, "--task-definition", "migrate", "--service", "web"]


def test_essential_container_exit_code_decides_not_the_sidecar(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    timeline(
        clock,
        ecs_script,
        Phase(0, {"lastStatus": "PROVISIONING", "containers": containers(None, None, "PENDING")}),
        Phase(4, RUNNING, writer(["migrating 1", "migrating 2"])),
        Phase(
            10,
            {
                "lastStatus": "STOPPED",
                "startedAt": when(4),
                "stopCode": "EssentialContainerExited",
                "stoppedReason": "Essential container in task exited",
                "containers": containers(3, 0),
            },
            writer(["failed: duplicate column"]),
        ),
    )
    code, out, err = run_cli(
        [*BASE, "--env", "A=1", "--command", "manage.py migrate"], world, clock
    )
    assert code == 3
    assert [line.split(" ", 1)[1] for line in out.splitlines()] == [
        "migrating 1",
        "migrating 2",
        "failed: duplicate column",
    ]
    assert "container 'app' exited with code 3" in err
    request = ecs_script.params["RunTask"][0]
    assert request["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [world.subnet]
    assert request["launchType"] == "FARGATE"
    assert request["overrides"]["containerOverrides"] == [
        {
            "name": "app",
            "command": ["manage.py", "migrate"],
            "environment": [{"name": "A", "value": "1"}],
        }
    ]


def test_watched_container_flag_and_success(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    timeline(
        clock,
        ecs_script,
        Phase(0, RUNNING),
        Phase(6, {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(0, 7)}),
    )
    code, _, _ = run_cli([*BASE], world, clock)
    assert code == 0
    code, _, _ = run_cli([*BASE, "--container", "envoy"], world, clock)
    assert code == 7


def test_task_that_never_started_exits_125_with_stop_code(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    timeline(
        clock,
        ecs_script,
        Phase(0, {"lastStatus": "PENDING", "containers": containers(None, None, "PENDING")}),
        Phase(
            5,
            {
                "lastStatus": "STOPPED",
                "stopCode": "TaskFailedToStart",
                "stoppedReason": "CannotPullContainerError: pull image manifest has been retried",
                "containers": [
                    {"name": "app", "lastStatus": "STOPPED", "reason": "CannotPullContainerError"},
                    {"name": "envoy", "lastStatus": "STOPPED"},
                ],
            },
        ),
    )
    code, _, err = run_cli(BASE, world, clock)
    assert code == 125
    assert "task never started" in err
    assert "TaskFailedToStart" in err
    assert "CannotPullContainerError" in err


def test_run_task_failures_exit_125(world: World, clock: FakeClock, ecs_script: Script) -> None:
    ecs_script.answer(
        "RunTask", lambda _p: {"tasks": [], "failures": [{"arn": "x", "reason": "RESOURCE:MEMORY"}]}
    )
    code, _, err = run_cli(BASE, world, clock)
    assert code == 125
    assert "RESOURCE:MEMORY" in err


def test_timeout_stops_the_task_and_exits_124(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    tl = timeline(clock, ecs_script, Phase(0, RUNNING))
    code, _, err = run_cli([*BASE, "--timeout", "60"], world, clock)
    assert code == 124
    assert ecs_script.calls["StopTask"] == 1
    assert tl.stop_requested == "ecskit: timed out after 60s"
    assert 60 <= clock.now() < 70
    assert "timed out after 60s" in err


def test_timeout_with_keep_running_leaves_the_task(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    timeline(clock, ecs_script, Phase(0, RUNNING))
    code, _, _ = run_cli([*BASE, "--timeout", "1m", "--keep-running"], world, clock)
    assert code == 124
    assert ecs_script.calls["StopTask"] == 0


def test_ctrl_c_stops_the_task_and_exits_130(world: World, ecs_script: Script) -> None:
    clock = FakeClock(interrupt_at=30.0)
    timeline(clock, ecs_script, Phase(0, RUNNING))
    code, _, err = run_cli(BASE, world, clock)
    assert code == 130
    assert ecs_script.calls["StopTask"] == 1
    assert "interrupted; task stopped" in err


@pytest.mark.parametrize("page_size", [None, 997])
def test_ten_thousand_log_lines_drained_in_order_without_duplicates(
    world: World, clock: FakeClock, ecs_script: Script, page_size: int | None
) -> None:
    lines = [f"line {i:05d}" for i in range(10_000)]
    timeline(
        clock,
        ecs_script,
        Phase(0, RUNNING, writer(lines[:2500])),
        Phase(3, {**RUNNING}, writer(lines[2500:6000])),
        Phase(
            6,
            {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(0, 0)},
            writer(lines[6000:]),
        ),
    )
    seen: list[str] = []
    result = run_task(
        world.clients,
        RunOptions(
            cluster=CLUSTER, task_definition="migrate", service="web", log_page_size=page_size
        ),
        clock=clock,
        on_log=lambda e: seen.append(e.message),
    )
    assert result.exit_code == 0
    assert seen == lines
    assert result.log_lines == 10_000
    if page_size:
        assert ecs_script.calls["DescribeTasks"] >= 3


def test_no_wait_returns_after_starting(world: World, clock: FakeClock, ecs_script: Script) -> None:
    code, _, err = run_cli([*BASE, "--no-wait"], world, clock)
    assert code == 0
    assert ecs_script.calls["DescribeTasks"] == 0
    assert "not waiting" in err


def test_json_and_step_summary(
    world: World,
    clock: FakeClock,
    ecs_script: Script,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    timeline(
        clock,
        ecs_script,
        Phase(0, {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(3, 0)}),
    )
    code, out, _ = run_cli([*BASE, "--json"], world, clock)
    document = json.loads(out)
    assert code == 3
    assert document["command"] == "run"
    assert document["result"]["exit_code"] == 3
    assert document["result"]["container"] == "app"
    assert "### ecskit run: ❌ exit 3" in summary.read_text()


def test_throttled_describe_tasks_is_retried(
    world: World, clock: FakeClock, ecs_script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)  # botocore's retry back-off
    timeline(
        clock,
        ecs_script,
        Phase(0, {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(0, 0)}),
    )
    seen = ecs_script.throttle("DescribeTasks", times=2)
    code, _, _ = run_cli(BASE, world, clock)
    assert code == 0
    assert seen["throttled"] == 2
    assert seen["passed"] >= 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--env", "NOEQUALS"], 2, "--env 'NOEQUALS': expected KEY=VALUE"),
        (
            ["--launch-type", "FARGATE", "--capacity-provider", "spot"],
            2,
            "not allowed with argument",
        ),
        (["--container", "nope"], 2, "--container 'nope': not in task definition"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    world: World, clock: FakeClock, args: list[str], code: int, message: str
) -> None:
    rc, out, err = run_cli([*BASE, *args], world, clock)
    assert rc == code
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--cluster", "nope", "--task-definition", "migrate", "--subnets", "s"],
            "--cluster 'nope': cluster not found",
        ),
        (
            ["run", "--cluster", CLUSTER, "--task-definition", "missing:9"],
            "--task-definition 'missing:9': not found",
        ),
        (
            ["run", "--cluster", CLUSTER, "--task-definition", "migrate", "--service", "ghost"],
            "--service 'ghost': no such service",
        ),
    ],
)
def test_missing_resources_are_one_line_exit_125(
    world: World, clock: FakeClock, args: list[str], message: str
) -> None:
    rc, _, err = run_cli(args, world, clock)
    assert rc == 125
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_awsvpc_without_network_is_a_usage_error(world: World, clock: FakeClock) -> None:
    rc, _, err = run_cli(
        ["run", "--cluster", CLUSTER, "--task-definition", "migrate"], world, clock
    )
    assert rc == 2
    assert "--subnets" in err
    assert "awsvpc" in err
