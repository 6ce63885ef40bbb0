"""``status``, ``logs``, ``rollback``, throttling retries, batching of 101 tasks, ``--help``.

moto: cluster/service/task definition, RunTask, DescribeTasks, CloudWatch Logs and alarms.
Scripted: deployment alarm configuration on DescribeServices, the service deployments API
(FleetScript), ThrottlingException responses, 101 stopped tasks from ListTasks.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from constructs_lib.runtime.aws import Clients
from constructs_lib.runtime.cli import main
from constructs_lib.runtime.rollout import RolloutOptions, stopped_task_reasons, watch_rollout
from constructs_lib.runtime.run import RunOptions, run_task
from tests.runtime.conftest import CLUSTER, World
from tests.runtime.scenario import FakeClock, FleetScript, Script, ServiceScript, stub_response
from tests.runtime.test_run import put_lines


def cli(args: list[str], clients: Clients, clock: FakeClock) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return (
        main(args, clients=clients, clock=clock, stdout=out, stderr=err),
        out.getvalue(),
        err.getvalue(),
    )


def test_status_shows_counts_deployments_and_alarm_states(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    cloudwatch = world.raw.cloudwatch
    cloudwatch.put_metric_alarm(
        AlarmName="web-5xx",
        MetricName="5xx",
        Namespace="App",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="test")

    def add_alarms(parsed: dict[str, Any]) -> None:
        for service in parsed.get("services", []):
            service["deploymentConfiguration"] = {
                "alarms": {"alarmNames": ["web-5xx", "web-gone"], "enable": True, "rollback": True}
            }

    ecs_script.rewrite("DescribeServices", add_alarms)
    code, out, _ = cli(["status", "--cluster", CLUSTER, "--json"], world.clients, clock)
    assert code == 0
    [web] = json.loads(out)["result"]
    assert web["service"] == "web"
    assert web["desired"] == 1
    assert web["deployments"][0]["status"] == "PRIMARY"
    assert web["alarms"] == [["web-5xx", "ALARM"], ["web-gone", "MISSING"]]
    code, out, _ = cli(["status", "--cluster", CLUSTER, "web"], world.clients, clock)
    assert "web [ACTIVE] migrate:1: desired 1" in out
    assert "alarm web-5xx: ALARM" in out


def test_logs_of_a_task(world: World, clock: FakeClock) -> None:
    result = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", wait=False),
        clock=clock,
    )
    assert result.task_id
    put_lines(world.raw.logs, result.task_id, ["hello", "world"])
    code, out, _ = cli(
        ["logs", "--cluster", CLUSTER, "--task", result.task_id], world.clients, clock
    )
    assert code == 0
    assert [line.split(" ", 1)[1] for line in out.splitlines()] == ["[app] hello", "[app] world"]
    code, out, _ = cli(
        ["logs", "--cluster", CLUSTER, "--task", result.task_id, "--follow"], world.clients, clock
    )
    assert code == 0  # moto's task reaches STOPPED after a few DescribeTasks: follow ends
    assert out.count("hello") == 1


def test_logs_usage_errors(world: World, clock: FakeClock) -> None:
    code, _, err = cli(["logs", "--cluster", CLUSTER], world.clients, clock)
    assert code == 2
    assert "exactly one of SERVICE or --task" in err
    code, _, err = cli(
        ["logs", "--cluster", CLUSTER, "web", "--since", "yesterday"], world.clients, clock
    )
    assert code == 2
    assert "--since 'yesterday'" in err


def test_rollback_stops_the_deployment_with_rollback(clients: Clients, clock: FakeClock) -> None:
    script = Script(clients.ecs)
    FleetScript(clock, "main", {"web": ServiceScript("web")}).install(script)
    code, out, _ = cli(["rollback", "--cluster", "main", "web"], clients, clock)
    assert code == 0
    assert script.params["StopServiceDeployment"] == [
        {
            "serviceDeploymentArn": (
                "arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/sd-web"
            ),
            "stopType": "ROLLBACK",
        }
    ]
    assert "rollback requested for web" in out


def test_rollback_without_deployment_in_progress_is_exit_1(
    clients: Clients, clock: FakeClock
) -> None:
    script = Script(clients.ecs)
    FleetScript(clock, "main", {"web": ServiceScript("web")}).install(script)
    script.answer_error("DescribeServiceDeployments", lambda _p: None)
    script.client.meta.events.register_first(
        "after-call.ecs.DescribeServiceDeployments",
        lambda parsed, **_: parsed["serviceDeployments"][0].update(status="SUCCESSFUL"),
    )
    code, _, err = cli(["rollback", "--cluster", "main", "web"], clients, clock)
    assert code == 1
    assert "no deployment in progress" in err
    assert "SUCCESSFUL" in err
    assert script.calls["StopServiceDeployment"] == 0


def test_throttled_describe_services_is_retried(
    clients: Clients, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)  # botocore's retry back-off
    script = Script(clients.ecs)
    # Scripted: the service is answered by moto below the throttle, so no FleetScript here.
    clients.ecs.create_cluster(clusterName="throttled")
    seen = script.throttle("DescribeServices", times=3)
    code, _, err = cli(["status", "--cluster", "throttled", "ghost"], clients, clock)
    assert seen["throttled"] == 3
    assert seen["passed"] == 1
    assert code == 1
    assert "SERVICE ghost" in err


def test_101_stopped_tasks_are_described_in_batches_of_100(
    clients: Clients, clock: FakeClock
) -> None:
    script = Script(clients.ecs)
    FleetScript(clock, "main", {"web": ServiceScript("web")}).install(script)
    arns = [f"arn:aws:ecs:us-east-1:1:task/main/web-stopped-{i}" for i in range(101)]
    script.client.meta.events.register_first(
        "before-call.ecs.ListTasks",
        lambda **_: stub_response({"taskArns": arns}),
    )
    reasons = stopped_task_reasons(clients, "main", "web", "ecs-svc/web-new", limit=5)
    assert [len(p["tasks"]) for p in script.params["DescribeTasks"]] == [100, 1]
    assert len(reasons) == 1  # identical reasons are reported once


def test_rollout_uses_describe_service_deployments_in_batches_of_20(
    clients: Clients, clock: FakeClock
) -> None:
    script = Script(clients.ecs)
    services = {
        f"s{i:02d}": ServiceScript(f"s{i:02d}", alarms=("a",), step=1000.0) for i in range(21)
    }
    FleetScript(clock, "main", services).install(script)
    watch_rollout(
        clients, RolloutOptions(cluster="main", services=tuple(services), timeout=1), clock=clock
    )
    sizes = [len(p["serviceDeploymentArns"]) for p in script.params["DescribeServiceDeployments"]]
    assert sizes[:2] == [20, 1]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["--help"], stdout=out) == 0
    for command in ("run", "rollout", "status", "logs", "rollback"):
        assert f"    {command}" in out.getvalue()


def test_no_command_is_a_one_line_usage_error() -> None:
    err = io.StringIO()
    assert main([], stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue() == (
        "ecskit: error: a COMMAND is required: one of run, rollout, status, logs, rollback "
        "(see ecskit --help)\n"
    )


def test_every_flag_documents_its_default() -> None:
    import argparse

    from constructs_lib.runtime.cli import COMMANDS, build_parser

    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert sorted(sub.choices) == sorted(COMMANDS)
    undocumented = [
        f"ecskit {name} {action.option_strings or action.dest}"
        for name, command in sub.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction)
        and not any(word in (action.help or "") for word in ("default", "required"))
    ]
    assert undocumented == []


def test_bad_timeout_names_the_flag_the_value_and_the_fix() -> None:
    err = io.StringIO()
    code = main(["rollout", "--cluster", "c", "web", "--timeout", "soon"], stderr=err)
    assert code == 2
    assert err.getvalue() == (
        "ecskit rollout: error: argument --timeout: 'soon' is not a duration; use seconds or "
        "a unit, e.g. 900, 90s, 15m, 2h (see ecskit rollout --help)\n"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--endpoint-url", "localhost:4566"],
            "ecskit status: error: --endpoint-url 'localhost:4566': not a URL; give scheme and "
            "host, e.g. http://localhost:4566\n",
        ),
        (
            ["--region", "us east 1"],
            "ecskit status: error: --region 'us east 1': not a region name; pass one such as "
            "eu-west-1\n",
        ),
    ],
)
def test_bad_aws_flags_are_one_line_usage_errors(flags: list[str], message: str) -> None:
    err = io.StringIO()
    assert main(["status", "--cluster", "c", *flags], stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue() == message


def test_endpoint_url_is_applied_to_every_client(boto_session: Any) -> None:
    from constructs_lib.runtime.aws import make_clients

    clients = make_clients(endpoint_url="http://127.0.0.1:4566", session=boto_session)
    endpoints = {
        name: getattr(clients, name).meta.endpoint_url for name in ("ecs", "logs", "cloudwatch")
    }
    assert endpoints == dict.fromkeys(("ecs", "logs", "cloudwatch"), "http://127.0.0.1:4566")


def test_json_errors_are_still_one_json_document(world: World, clock: FakeClock) -> None:
    code, out, err = cli(["status", "--cluster", "nope", "--json"], world.clients, clock)
    assert code == 1
    assert json.loads(out) == {
        "command": "status",
        "error": {
            "exit_code": 1,
            "message": "--cluster 'nope': cluster not found; check the name and --region",
        },
    }
    assert err == (
        "ecskit status: error: --cluster 'nope': cluster not found; check the name and --region\n"
    )


def test_status_reads_composite_deployment_alarms(clients: Clients, clock: FakeClock) -> None:
    """Scripted DescribeAlarms with the real API's rule: no ``AlarmTypes``, metric alarms only."""
    fleet = Script(clients.ecs)
    FleetScript(
        clock, "main", {"api": ServiceScript("api", alarms=("api-slo", "api-5xx"))}
    ).install(fleet)
    cloudwatch = Script(clients.cloudwatch)

    def describe_alarms(params: dict[str, Any]) -> dict[str, Any]:
        types = params.get("AlarmTypes") or ["MetricAlarm"]
        return {
            "MetricAlarms": [{"AlarmName": "api-5xx", "StateValue": "OK"}]
            if "MetricAlarm" in types
            else [],
            "CompositeAlarms": [{"AlarmName": "api-slo", "StateValue": "ALARM"}]
            if "CompositeAlarm" in types
            else [],
        }

    cloudwatch.answer("DescribeAlarms", describe_alarms)
    code, out, _ = cli(["status", "--cluster", "main", "api", "--json"], clients, clock)
    assert code == 0
    assert json.loads(out)["result"][0]["alarms"] == [["api-slo", "ALARM"], ["api-5xx", "OK"]]


def test_logs_of_a_service_read_every_task_page_and_skip_missing_streams(
    world: World, clock: FakeClock
) -> None:
    """ListTasks answers in two pages (scripted); one task has not logged yet, and
    FilterLogEvents then fails for the whole batch like CloudWatch does (scripted)."""
    ids = [
        run_task(
            world.clients,
            RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", wait=False),
            clock=clock,
        ).task_id
        or ""
        for _ in range(3)
    ]
    put_lines(world.raw.logs, ids[0], ["first task"])
    put_lines(world.raw.logs, ids[2], ["third task"])  # ids[1] never logs: no stream
    ecs, logs = Script(world.clients.ecs), Script(world.clients.logs)
    pages = {
        None: {"taskArns": [f"arn:aws:ecs:us-east-1:123456789012:task/main/{i}" for i in ids[:2]]},
        "page-2": {"taskArns": [f"arn:aws:ecs:us-east-1:123456789012:task/main/{ids[2]}"]},
    }
    pages[None]["nextToken"] = "page-2"
    ecs.answer(
        "ListTasks",
        lambda p: (
            pages[p.get("nextToken")] if p["desiredStatus"] == "RUNNING" else {"taskArns": []}
        ),
    )
    existing = {f"ecs/app/{ids[0]}", f"ecs/envoy/{ids[0]}", f"ecs/app/{ids[2]}"}
    logs.answer_error(
        "FilterLogEvents",
        lambda p: (
            None
            if set(p["logStreamNames"]) <= existing
            else ("ResourceNotFoundException", "The specified log stream does not exist.", 400)
        ),
    )
    code, out, _ = cli(["logs", "--cluster", CLUSTER, "web"], world.clients, clock)
    assert code == 0
    assert [line.split(" ", 1)[1] for line in out.splitlines()] == [
        "[app] first task",
        "[app] third task",
    ]
    assert [p.get("nextToken") for p in ecs.params["ListTasks"]] == [None, "page-2", None]


def test_follow_reads_from_the_newest_line_not_from_since_again(
    world: World, clock: FakeClock
) -> None:
    from constructs_lib.runtime.logs import LogsOptions, follow_logs

    task_id = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", wait=False),
        clock=clock,
    ).task_id
    assert task_id
    put_lines(world.raw.logs, task_id, ["one", "two"])
    logs = Script(world.clients.logs)
    seen: list[str] = []
    now_ms = int(time.time() * 1000)
    follow_logs(
        world.clients,
        LogsOptions(cluster=CLUSTER, task=task_id, since_seconds=3600, follow=True),
        lambda e: seen.append(e.message),
        clock=clock,
        now_ms=lambda: now_ms,
    )  # returns: moto's task reaches STOPPED after a few polls
    assert seen == ["one", "two"]
    starts = [p["startTime"] for p in logs.params["FilterLogEvents"]]
    assert starts[0] == now_ms - 3_600_000
    assert len(starts) >= 2
    assert all(s >= now_ms - 3_600_000 + 1_000_000 for s in starts[1:])  # overlap: 60 s


def test_follow_json_prints_one_document_even_on_ctrl_c(world: World) -> None:
    task_id = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", wait=False),
        clock=FakeClock(),
    ).task_id
    assert task_id
    put_lines(world.raw.logs, task_id, ["before ctrl-c"])
    Script(world.clients.ecs).rewrite(  # scripted: the task keeps running
        "DescribeTasks", lambda parsed: [t.update(lastStatus="RUNNING") for t in parsed["tasks"]]
    )
    clock = FakeClock(interrupt_at=5.0)
    code, out, err = cli(
        ["logs", "--cluster", CLUSTER, "--task", task_id, "--follow", "--json"],
        world.clients,
        clock,
    )
    assert code == 130
    assert [e["message"] for e in json.loads(out)["result"]] == ["before ctrl-c"]
    assert "before ctrl-c" in err


def test_step_summary_of_logs_and_an_unwritable_summary(
    world: World, clock: FakeClock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = run_task(
        world.clients,
        RunOptions(cluster=CLUSTER, task_definition="migrate", service="web", wait=False),
        clock=clock,
    ).task_id
    assert task_id
    put_lines(world.raw.logs, task_id, ["a", "b"])
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert cli(["logs", "--cluster", CLUSTER, "--task", task_id], world.clients, clock)[0] == 0
    assert summary.read_text() == "### ecskit logs\n\n2 log lines from 1 stream(s).\n"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))  # a directory: cannot append
    code, out, err = cli(["logs", "--cluster", CLUSTER, "--task", task_id], world.clients, clock)
    assert code == 0  # the summary never decides the exit code
    assert len(out.splitlines()) == 2
    assert err.startswith("ecskit logs: warning: cannot append to GITHUB_STEP_SUMMARY")
    assert "Traceback" not in err


def test_step_summary_table_cells_escape_pipes_and_newlines() -> None:
    from constructs_lib.runtime.format import step_summary
    from constructs_lib.runtime.run import TaskResult

    text = step_summary(
        "run",
        TaskResult(
            exit_code=125,
            outcome="not_started",
            cluster="c",
            task_definition="td",
            container="app",
            message="task never started",
            stop_code="TaskFailedToStart",
            stopped_reason="CannotPullContainerError: a|b\nretried",
        ),
    )
    assert "| Stop code | `TaskFailedToStart`: CannotPullContainerError: a\\|b retried |" in text


def test_progress_on_a_terminal_is_cleared_before_log_lines(
    world: World, clock: FakeClock, ecs_script: Script
) -> None:
    """stdout and stderr on one terminal: no log line may be glued to a progress line."""
    from tests.runtime.test_run import BASE, RUNNING, STOPPED_3, Phase, timeline, writer

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    timeline(
        clock,
        ecs_script,
        Phase(0, RUNNING, writer(world, ["line 1", "line 2"])),
        Phase(4, STOPPED_3),
    )
    terminal = Terminal()
    assert main(BASE, clients=world.clients, clock=clock, stdout=terminal, stderr=terminal) == 3

    screen: list[str] = []  # what a terminal shows: "\r\x1b[K" clears the current line
    for row in terminal.getvalue().split("\n"):
        screen.append(row.rsplit("\r\x1b[K", 1)[-1])
    logged = [row for row in screen if "line " in row and not row.startswith("  ")]
    assert [row.split(" ", 1)[1] for row in logged] == ["line 1", "line 2"]
    assert all(row[:4].isdigit() for row in logged)  # starts with the timestamp
    assert "\x1b[K" in terminal.getvalue()


def test_term_dumb_gets_plain_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    from constructs_lib.runtime.cli import Reporter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "dumb")
    stream = Terminal()
    reporter = Reporter(stream)
    reporter.progress("waiting")
    reporter.progress("waiting")
    reporter.progress("done")
    assert stream.getvalue() == "waiting\ndone\n"


def test_rate_limiter_sleeps_exactly_until_the_next_token() -> None:
    from constructs_lib.runtime.aws import TokenBucket

    clock = FakeClock()
    bucket = TokenBucket(clock, capacity=2, refill_per_second=4)
    for _ in range(5):
        bucket.acquire("DescribeServices")
    assert clock.sleeps == [0.25, 0.25, 0.25]
    clock.sleep(10)  # idle: the bucket refills to its capacity, not beyond
    for _ in range(3):
        bucket.acquire("DescribeTasks")
    assert clock.sleeps[4:] == [0.25]
    assert bucket.calls == {"DescribeServices": 5, "DescribeTasks": 3}
    with pytest.raises(ValueError, match="refill_per_second > 0"):
        TokenBucket(clock, refill_per_second=0)


def test_rate_limiter_sustained_rate_despite_float_rounding() -> None:
    """0.2 s x 5/s can refill 0.9999999999999998 tokens: that must not spin forever (the fake
    clock raises on sleeps too short to move it) nor skew the rate."""
    from constructs_lib.runtime.aws import TokenBucket

    for start in (0.0, 0.1, 1e6):
        clock = FakeClock(start)
        bucket = TokenBucket(clock)  # 20 burst, 5/s
        for _ in range(220):
            bucket.acquire()
        assert clock.now() - start == pytest.approx(40.0, abs=1e-6)


def test_rate_limiter_sees_scripted_answers_and_every_page(
    clients: Clients, clock: FakeClock
) -> None:
    """One shared bucket for all clients; a call answered by a hook still takes a token."""
    FleetScript(clock, "main", {"web": ServiceScript("web")}).install(Script(clients.ecs))
    pages = Script(clients.ecs)
    pages.answer(
        "ListServices",
        lambda p: {"serviceArns": ["a/web"], **({} if p.get("nextToken") else {"nextToken": "2"})},
    )
    for _ in range(25):
        clients.ecs.describe_services(cluster="main", services=["web"])
    assert clock.now() == pytest.approx(1.0)  # 20 burst, then 5 more at 5/s
    list(clients.ecs.get_paginator("list_services").paginate(cluster="main"))
    assert clients.limiter.calls["DescribeServices"] == 25
    assert clients.limiter.calls["ListServices"] == 2
