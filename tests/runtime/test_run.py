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

import pytest

from constructs_lib.runtime.cli import main
from constructs_lib.runtime.run import RunOptions, run_task
from tests.runtime.conftest import CLUSTER, LOG_GROUP, World
from tests.runtime.scenario import FakeClock, Phase, Script, TaskTimeline, when

_clock_ms = [int(time.time() * 1000)]


def put_lines(logs: Any, task_id: str, lines: list[str], container: str = "app") -> None:
    """Write ``lines`` to the task's stream with strictly increasing timestamps."""
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


def writer(world: World, lines: list[str]) -> Callable[[str], None]:
    return lambda task_id: put_lines(world.raw.logs, task_id, lines)


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
        Phase(4, RUNNING, writer(world, ["migrating 1", "migrating 2"])),
        Phase(
            10,
            {
                "lastStatus": "STOPPED",
                "startedAt": when(4),
                "stopCode": "EssentialContainerExited",
                "stoppedReason": "Essential container in task exited",
                "containers": containers(3, 0),
            },
            writer(world, ["failed: duplicate column"]),
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
        Phase(0, RUNNING, writer(world, lines[:2500])),
        Phase(3, {**RUNNING}, writer(world, lines[2500:6000])),
        Phase(
            6,
            {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(0, 0)},
            writer(world, lines[6000:]),
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


STOPPED_3 = {"lastStatus": "STOPPED", "startedAt": when(1), "containers": containers(3, 0)}


def test_json_mode_keeps_log_lines_off_stdout(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    timeline(
        clock,
        ecs_script,
        Phase(0, RUNNING, writer(world, ["hello from the task"])),
        Phase(4, STOPPED_3),
    )
    code, out, err = run_cli([*BASE, "--json"], world, clock)
    assert code == 3
    assert json.loads(out)["result"]["log_lines"] == 1  # stdout: exactly one JSON document
    assert "hello from the task" in err


def test_ctrl_c_with_keep_running_leaves_the_task(world: World, ecs_script: Script) -> None:
    clock = FakeClock(interrupt_at=30.0)
    timeline(clock, ecs_script, Phase(0, RUNNING))
    code, _, err = run_cli([*BASE, "--keep-running"], world, clock)
    assert code == 130
    assert ecs_script.calls["StopTask"] == 0
    assert "interrupted; task left running" in err


def test_ctrl_c_right_after_run_task_still_stops_the_task(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    """Ctrl-C between RunTask and the first poll (here: while reporting the start)."""

    def progress(message: str) -> None:
        if message.startswith("started task"):
            raise KeyboardInterrupt

    try:
        result = run_task(
            world.clients,
            RunOptions(cluster=CLUSTER, task_definition="migrate", service="web"),
            clock=clock,
            on_progress=progress,
        )
    except KeyboardInterrupt:  # would also end the pytest session
        pytest.fail("Ctrl-C escaped run_task; the task was left running")
    assert result.exit_code == 130
    assert result.task_stopped_by_ecskit
    assert ecs_script.calls["StopTask"] == 1
    assert ecs_script.params["StopTask"][0]["task"] == result.task_arn


def test_ctrl_c_when_stop_task_fails_still_exits_130_and_says_so(
    world: World, ecs_script: Script
) -> None:
    clock = FakeClock(interrupt_at=10.0)
    timeline(clock, ecs_script, Phase(0, RUNNING))
    ecs_script.fail("StopTask", "AccessDeniedException", "not allowed to ecs:StopTask")
    code, _, err = run_cli(BASE, world, clock)
    assert code == 130
    assert "could not stop task" in err
    assert "not allowed to ecs:StopTask" in err
    assert "aws ecs stop-task --cluster main --task arn:" in err
    assert "Traceback" not in err


def test_ctrl_c_while_draining_after_the_task_stopped(world: World, ecs_script: Script) -> None:
    """The task stopped by itself; Ctrl-C during the drain grace: 130, nothing to stop, and
    --json still prints the result (with the container's exit code)."""
    clock = FakeClock(interrupt_at=1.0)  # the drain waits 3 s after the stop
    timeline(clock, ecs_script, Phase(0, STOPPED_3, writer(world, ["last words"])))
    code, out, err = run_cli([*BASE, "--json"], world, clock)
    assert code == 130
    assert ecs_script.calls["StopTask"] == 0
    result = json.loads(out)["result"]
    assert result["outcome"] == "interrupted"
    assert result["container_exit_code"] == 3
    assert "last words" in err


class LateLines:
    """Lines that CloudWatch makes visible just after a read found the stream's end, once the
    task has stopped (ingestion lag): ``batches[i]`` appears after the (i+2)th such read."""

    def __init__(self, world: World, script: Script, batches: list[list[str]]) -> None:
        self.world = world
        self.batches = batches
        self.stopped = False
        self.task_id = ""
        self.ends = 0
        script.rewrite("GetLogEvents", self._after_read)

    def stop(self, task_id: str) -> None:
        self.stopped, self.task_id = True, task_id

    def _after_read(self, parsed: dict[str, Any]) -> None:
        if not self.stopped or parsed.get("events"):
            return
        self.ends += 1
        index = self.ends - 2
        if 0 <= index < len(self.batches):
            put_lines(self.world.raw.logs, self.task_id, self.batches[index])


def test_lines_that_arrive_after_the_drain_grace_are_still_printed(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    late = LateLines(world, Script(world.clients.logs), [["late 1"], ["late 2"], ["late 3"]])
    timeline(
        clock,
        ecs_script,
        Phase(0, RUNNING, writer(world, ["early"])),
        Phase(5, STOPPED_3, late.stop),
    )
    seen: list[str] = []
    result = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web"),
        clock=clock,
        on_log=lambda e: seen.append(e.message),
    )
    assert result.exit_code == 3
    assert seen == ["early", "late 1", "late 2", "late 3"]
    assert result.log_lines == 4


def test_drain_gives_up_after_drain_max_when_lines_keep_coming(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    late = LateLines(world, Script(world.clients.logs), [[f"chatter {i}"] for i in range(100)])
    timeline(clock, ecs_script, Phase(0, RUNNING), Phase(5, STOPPED_3, late.stop))
    result = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", drain_max=10.0),
        clock=clock,
    )
    assert result.exit_code == 3
    assert 1 < result.log_lines < 10
    assert clock.now() <= 5 + 2 + 10 + 3  # stop seen within a poll, then at most drain_max


def test_log_read_error_mid_stream_loses_and_repeats_nothing(world: World) -> None:
    """Lines of pages read before an error are delivered; the next read resumes after them."""
    from constructs_lib.runtime.logs import LogCursor, LogTarget, iter_new_events

    put_lines(world.raw.logs, "readerr", [f"n{i}" for i in range(25)])
    script = Script(world.clients.logs)
    calls = {"n": 0}

    def second_page_fails(_params: dict[str, Any]) -> tuple[str, str, int] | None:
        calls["n"] += 1
        return ("InvalidOperationException", "scripted", 400) if calls["n"] == 2 else None

    script.answer_error("GetLogEvents", second_page_fails)
    cursor = LogCursor(LogTarget(group=LOG_GROUP, stream="ecs/app/readerr", container="app"))
    first: list[str] = []

    def read_into(into: list[str]) -> None:
        for event in iter_new_events(world.clients.logs, cursor, page_size=10):
            into.append(event.message)

    with pytest.raises(Exception, match="InvalidOperationException"):
        read_into(first)
    assert first == [f"n{i}" for i in range(10)]
    second: list[str] = []
    for event in iter_new_events(world.clients.logs, cursor, page_size=10):
        second.append(event.message)
        if len(second) == 4:
            break  # the consumer stops mid-page (e.g. Ctrl-C while printing)
    rest = [e.message for e in iter_new_events(world.clients.logs, cursor, page_size=10)]
    assert first + second + rest == [f"n{i}" for i in range(25)]
    assert cursor.lines == 25


@pytest.mark.parametrize(
    ("service", "options", "expected"),
    [
        # A bridge-mode task definition must not get the service's awsvpc settings.
        (
            {
                "launchType": "EC2",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}},
            },
            {},
            {"launchType": "EC2"},
        ),
        # An EC2 capacity provider does not take the Fargate service's platformVersion.
        (
            {"launchType": "FARGATE", "platformVersion": "1.4.0"},
            {"capacity_provider": "asg"},
            {"capacityProviderStrategy": [{"capacityProvider": "asg", "weight": 1}]},
        ),
        # FARGATE_SPOT does.
        (
            {"launchType": "FARGATE", "platformVersion": "1.4.0"},
            {"capacity_provider": "FARGATE_SPOT"},
            {
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                "platformVersion": "1.4.0",
            },
        ),
    ],
)
def test_run_task_request_takes_only_what_fits_the_task_definition(
    service: dict[str, Any], options: dict[str, Any], expected: dict[str, Any]
) -> None:
    from constructs_lib.runtime.run import build_run_task_request

    request = build_run_task_request(
        RunOptions(cluster="c", task_definition="td", service="web", **options),
        {"networkMode": "bridge", "containerDefinitions": [{"name": "app"}]},
        service,
        "app",
    )
    base = {"cluster": "c", "taskDefinition": "td", "count": 1, "startedBy": "ecskit"}
    assert request == {**base, **expected}


def test_awsvpc_flags_on_a_bridge_task_definition_are_a_usage_error() -> None:
    from constructs_lib.runtime.errors import UsageError
    from constructs_lib.runtime.run import build_run_task_request

    with pytest.raises(UsageError, match=r"^--subnets: task definition 'td' uses the 'bridge'"):
        build_run_task_request(
            RunOptions(cluster="c", task_definition="td", subnets=("s",)),
            {"networkMode": "bridge"},
            {},
            "app",
        )
