"""``ecskit rollout``: exit 0/1/124/2, failure seen as it starts, batching.

Scripted (FleetScript in tests/runtime/scenario.py): DescribeServices deployments and
rolloutState, circuit breaker, service deployments API, stopped tasks. moto: a missing cluster.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from constructs_lib.runtime.aws import Clients
from constructs_lib.runtime.cli import main
from constructs_lib.runtime.rollout import RolloutOptions, watch_rollout
from tests.runtime.scenario import FakeClock, FleetScript, Script, ServiceScript


def fleet(clock: FakeClock, clients: Clients, *services: ServiceScript) -> Script:
    script = Script(clients.ecs)
    FleetScript(clock, "main", {s.name: s for s in services}).install(script)
    return script


def test_all_services_complete(clients: Clients, clock: FakeClock) -> None:
    fleet(clock, clients, ServiceScript("a"), ServiceScript("b", desired=4))
    result = watch_rollout(
        clients, RolloutOptions(cluster="main", services=("a", "b")), clock=clock
    )
    assert result.exit_code == 0
    assert [s.state for s in result.services] == ["COMPLETED", "COMPLETED"]
    assert (
        ServiceScript("b", desired=4).completes_at
        <= clock.now()
        <= ServiceScript("b", desired=4).completes_at + 5
    )


def test_circuit_breaker_reported_as_it_starts_not_after_rollback(
    clients: Clients, clock: FakeClock
) -> None:
    script = fleet(clock, clients, ServiceScript("ok"), ServiceScript("bad", fail_at=100.0))
    result = watch_rollout(
        clients, RolloutOptions(cluster="main", services=("ok", "bad")), clock=clock
    )
    assert result.exit_code == 1
    bad = result.services[1]
    assert bad.state == "FAILED"
    assert 100.0 <= clock.now() <= 105.0  # the rollback would finish at 400 s
    assert "circuit breaker" in (bad.reason or "")
    assert bad.service_deployment_status == "ROLLBACK_IN_PROGRESS"
    assert bad.circuit_breaker == "TRIGGERED (3/3 failed tasks)"
    assert bad.stopped_task_reasons
    assert "EssentialContainerExited" in bad.stopped_task_reasons[0]
    assert script.calls["DescribeServiceDeployments"] >= 1


def test_deployment_alarm_in_alarm_is_a_failure(clients: Clients, clock: FakeClock) -> None:
    fleet(clock, clients, ServiceScript("api", alarm_at=50.0, alarms=("api-5xx", "api-latency")))
    result = watch_rollout(clients, RolloutOptions(cluster="main", services=("api",)), clock=clock)
    assert result.exit_code == 1
    assert result.services[0].triggered_alarms == ("api-5xx",)
    assert "api-5xx" in (result.services[0].reason or "")


def test_timeout_exits_124(clients: Clients, clock: FakeClock) -> None:
    fleet(clock, clients, ServiceScript("slow", step=600.0))
    result = watch_rollout(
        clients, RolloutOptions(cluster="main", services=("slow",), timeout=120), clock=clock
    )
    assert result.exit_code == 124
    assert clock.now() == pytest.approx(120.0)


def test_eleven_services_are_described_in_batches_of_ten(
    clients: Clients, clock: FakeClock
) -> None:
    names = [f"s{i:02d}" for i in range(11)]
    script = fleet(clock, clients, *(ServiceScript(n, step=1000.0) for n in names))
    watch_rollout(
        clients, RolloutOptions(cluster="main", services=tuple(names), timeout=1), clock=clock
    )
    batches = [p["services"] for p in script.params["DescribeServices"]]
    assert [len(b) for b in batches[:2]] == [10, 1]  # one poll cycle
    assert sorted(batches[0] + batches[1]) == names


def test_polling_stays_under_budget_and_detects_within_5s(
    clients: Clients, clock: FakeClock
) -> None:
    services = [ServiceScript(f"svc{i:02d}", desired=3, start=i * 2.0) for i in range(50)]
    services[17] = ServiceScript("svc17", desired=3, fail_at=240.0)
    script = fleet(clock, clients, *services)
    result = watch_rollout(
        clients,
        RolloutOptions(cluster="main", services=tuple(s.name for s in services)),
        clock=clock,
    )
    assert result.exit_code == 1
    assert clock.now() - 240.0 <= 5.0
    describe_calls = script.calls["DescribeServices"]
    assert describe_calls / 50 / (clock.now() / 60) <= 1.5


def test_cli_rollout_json_summary_and_exit_codes(
    clients: Clients, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    fleet(clock, clients, ServiceScript("bad", fail_at=30.0))
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["rollout", "--cluster", "main", "bad", "--json"],
        clients=clients,
        clock=clock,
        stdout=out,
        stderr=err,
    )
    assert code == 1
    document = json.loads(out.getvalue())
    assert document["result"]["outcome"] == "failed"
    assert document["result"]["services"][0]["state"] == "FAILED"
    assert "reason: ECS deployment ecs-svc/bad-new failed: circuit breaker" in err.getvalue()
    assert "❌ failed" in summary.read_text()


def test_missing_service_is_one_line_exit_1(clients: Clients, clock: FakeClock) -> None:
    fleet(clock, clients, ServiceScript("a"))
    err = io.StringIO()
    code = main(
        ["rollout", "--cluster", "main", "a", "ghost"],
        clients=clients,
        clock=clock,
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 1
    assert err.getvalue().strip() == (
        "ecskit rollout: error: SERVICE ghost: no such (active) service in cluster 'main'; "
        "check the name with `ecskit status --cluster main`"
    )


def test_missing_cluster_is_one_line_exit_1(clients: Clients, clock: FakeClock) -> None:
    err = io.StringIO()
    code = main(
        ["rollout", "--cluster", "nope", "web"],
        clients=clients,
        clock=clock,
        stdout=io.StringIO(),
        stderr=err,
    )
    assert code == 1
    assert "--cluster 'nope': cluster not found" in err.getvalue()
    assert len(err.getvalue().strip().splitlines()) == 1


def test_rollout_usage_error_exit_2(clients: Clients, clock: FakeClock) -> None:
    err = io.StringIO()
    assert main(["rollout", "--cluster", "main"], clients=clients, stderr=err) == 2
    assert "SERVICE" in err.getvalue()
    assert (
        main(
            ["rollout", "--cluster", "main", "a", "--timeout", "soon"], clients=clients, stderr=err
        )
        == 2
    )


def test_rollback_already_in_progress_at_the_first_poll_is_a_failure(
    clients: Clients, clock: FakeClock
) -> None:
    """The circuit breaker tripped before the watch started: the PRIMARY deployment is the
    rollback's and looks healthy (no failed tasks); the service deployment says otherwise."""
    script = fleet(clock, clients, ServiceScript("late", fail_at=0.0, rollback_done=60.0))
    result = watch_rollout(clients, RolloutOptions(cluster="main", services=("late",)), clock=clock)
    assert result.exit_code == 1
    assert clock.now() == 0.0  # the first poll tells
    [late] = result.services
    assert late.service_deployment_status == "ROLLBACK_IN_PROGRESS"
    assert "service deployment ROLLBACK_IN_PROGRESS" in (late.reason or "")
    assert script.calls["DescribeServiceDeployments"] == 1


def test_services_given_as_arns_are_watched_by_name(clients: Clients, clock: FakeClock) -> None:
    script = fleet(clock, clients, ServiceScript("web"), ServiceScript("my-web", desired=3))
    arn = "arn:aws:ecs:us-east-1:123456789012:service/main/"
    result = watch_rollout(
        clients,
        RolloutOptions(cluster="main", services=(f"{arn}my-web", f"{arn}web", "web")),
        clock=clock,
    )
    assert result.exit_code == 0
    assert [(s.service, s.state, s.desired) for s in result.services] == [
        ("my-web", "COMPLETED", 3),
        ("web", "COMPLETED", 2),
    ]
    assert script.params["DescribeServices"][0]["services"] == ["my-web", "web"]


def test_failure_is_reported_even_when_stopped_tasks_cannot_be_read(
    clients: Clients, clock: FakeClock
) -> None:
    script = fleet(clock, clients, ServiceScript("bad", fail_at=30.0))
    script.fail("ListTasks", "AccessDeniedException", "not allowed to ecs:ListTasks")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["rollout", "--cluster", "main", "bad"],
        clients=clients,
        clock=clock,
        stdout=out,
        stderr=err,
    )
    assert code == 1
    assert "circuit breaker" in err.getvalue()
    assert "stopped task: (stopped tasks unavailable: AccessDeniedException)" in err.getvalue()


def test_ctrl_c_during_rollout_is_130_with_a_json_document(
    clients: Clients,
) -> None:
    clock = FakeClock(interrupt_at=10.0)
    fleet(clock, clients, ServiceScript("slow", step=600.0))
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["rollout", "--cluster", "main", "slow", "--json"],
        clients=clients,
        clock=clock,
        stdout=out,
        stderr=err,
    )
    assert code == 130
    assert json.loads(out.getvalue())["error"] == {"exit_code": 130, "message": "interrupted"}
    assert err.getvalue().endswith("ecskit rollout: interrupted\n")
