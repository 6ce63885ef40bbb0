"""constructs_lib.deployment: the four strategies' rules (pure: no synthesis)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration

from constructs_lib import (
    BlueGreenDeployment,
    CanaryDeployment,
    EcskitValidationError,
    LinearDeployment,
    RollingDeployment,
)
from constructs_lib.deployment import check_deployment


def test_defaults() -> None:
    rolling = RollingDeployment()
    assert (rolling.min_healthy_percent, rolling.max_healthy_percent) == (100, 200)
    assert rolling.circuit_breaker_rollback is True
    assert rolling.availability_zone_rebalancing is True
    props = rolling.service_props()
    assert props["circuit_breaker"].enable is True
    assert props["circuit_breaker"].rollback is True
    assert "deployment_strategy" not in props
    canary = CanaryDeployment()
    assert (canary.step_percent, canary.step_bake_time.to_minutes()) == (5.0, 10)
    assert canary.bake_time.to_minutes() == 15
    linear = LinearDeployment()
    assert (linear.step_percent, linear.step_bake_time.to_minutes()) == (10.0, 6)
    blue_green = BlueGreenDeployment().service_props()
    assert blue_green["deployment_strategy"].name == "BLUE_GREEN"
    assert blue_green["bake_time"].to_minutes() == 15


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        (RollingDeployment(min_healthy_percent=-1), r"D\.min_healthy_percent must be between 0 and 100, got -1"),
        (RollingDeployment(max_healthy_percent=90), r"D\.max_healthy_percent must be between 100 and 400, got 90"),
        (RollingDeployment(min_healthy_percent=100, max_healthy_percent=100, availability_zone_rebalancing=False), r"D\.max_healthy_percent must be above min_healthy_percent \(100\), or no task can be replaced, got 100"),
        (RollingDeployment(min_healthy_percent=50, max_healthy_percent=100), r"D\.availability_zone_rebalancing must be False when max_healthy_percent is 100 .*or raise max_healthy_percent, got True"),
        (RollingDeployment(bake_time=Duration.days(2)), r"D\.bake_time \(minutes\) must be between 0 and 1440, got 2880"),
        (RollingDeployment(bake_time=Duration.seconds(90)), r"D\.bake_time \(minutes\) must be a whole number of minutes, got 1\.5"),
        (RollingDeployment(alarm_names=("",)), r"D\.alarm_names must be non-empty alarm names"),
        (BlueGreenDeployment(bake_time=Duration.minutes(1441)), r"D\.bake_time \(minutes\) must be between 0 and 1440, got 1441"),
        (CanaryDeployment(step_percent=0.05), r"D\.step_percent must be a multiple of 0\.1 between 0\.1 and 100\.0, got 0\.05"),
        (CanaryDeployment(step_percent=12.34), r"D\.step_percent must be a multiple of 0\.1 between 0\.1 and 100\.0, got 12\.34"),
        (CanaryDeployment(step_bake_time=Duration.minutes(1500)), r"D\.step_bake_time \(minutes\) must be between 0 and 1440, got 1500"),
        (CanaryDeployment(bake_time=Duration.minutes(1440), step_bake_time=Duration.minutes(1440)), r"D bake_time \+ step_bake_time must be at most 1980 minutes \(33 hours\) .*got '2880 minutes'"),
        (LinearDeployment(step_percent=2.0), r"D\.step_percent must be a multiple of 0\.1 between 3\.0 and 100\.0, got 2\.0"),
        (LinearDeployment(step_percent=5.0, step_bake_time=Duration.minutes(100)), r"D bake_time \+ step_bake_time x 20 steps must be at most 1980 minutes \(33 hours\) of bake time in total, or CloudFormation rejects the deployment; .*got '2015 minutes'"),
    ],
)  # fmt: skip
def test_bad_deployments(deployment: Any, message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        check_deployment("D", deployment, allow_traffic_shifting=True, owner="WebService")


def test_traffic_shifting_needs_an_alb() -> None:
    with pytest.raises(
        EcskitValidationError,
        match=r"D must be RollingDeployment for WorkerService .*got 'CanaryDeployment'",
    ):
        check_deployment(
            "D", CanaryDeployment(), allow_traffic_shifting=False, owner="WorkerService"
        )


def test_valid_edges() -> None:
    for deployment in (
        RollingDeployment(min_healthy_percent=0, max_healthy_percent=400),
        CanaryDeployment(step_percent=0.1, step_bake_time=Duration.minutes(0)),
        CanaryDeployment(step_percent=100.0),
        LinearDeployment(step_percent=3.0, step_bake_time=Duration.minutes(1)),
        LinearDeployment(step_percent=33.3),
    ):
        assert (
            check_deployment("D", deployment, allow_traffic_shifting=True, owner="W") is deployment
        )
