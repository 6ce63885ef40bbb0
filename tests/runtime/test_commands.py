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

import boto3
import pytest

from constructs_lib.runtime.aws import Clients
from constructs_lib.runtime.cli import main
from constructs_lib.runtime.rollout import RolloutOptions, stopped_task_reasons, watch_rollout
from constructs_lib.runtime.run import RunOptions, run_task
from tests.runtime.conftest import CLUSTER, REGION, World
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
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
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
    put_lines(result.task_id, ["hello", "world"])
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
    clients.ecs.create_cluster(clusterName="main")
    seen = script.throttle("DescribeServices", times=3)
    code, _, err = cli(["status", "--cluster", "main", "ghost"], clients, clock)
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
