"""How a service deploys: one ``deployment=`` prop, four strategies.

* :class:`RollingDeployment` (the default): the circuit breaker with rollback is on, tasks are
  replaced 100 % min healthy / 200 % max, Availability Zone rebalancing is on.
* :class:`BlueGreenDeployment`, :class:`CanaryDeployment`, :class:`LinearDeployment`: ECS's
  native traffic shifting behind an Application Load Balancer (``WebService`` creates the
  alternate target group, the production and test listener rules and the infrastructure role).

Every strategy can list CloudWatch alarm names that roll a deployment back
(:attr:`RollingDeployment.alarm_names`); the alarms themselves are built elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs

from constructs_lib._validate import (
    check_az_rebalancing,
    check_deployment_duration,
    check_deployment_minutes,
    check_healthy_percents,
    check_traffic_shift_percent,
)
from constructs_lib.errors import invalid


def _minutes(value: Duration) -> float:
    return value.to_minutes(integral=False)


@dataclass(frozen=True)
class _Common:
    min_healthy_percent: int = 100
    max_healthy_percent: int = 200
    circuit_breaker_rollback: bool = True
    alarm_names: tuple[str, ...] = ()
    rollback_on_alarm: bool = True

    def _validate_common(self, prop: str) -> None:
        check_healthy_percents(prop, self.min_healthy_percent, self.max_healthy_percent)
        if any(not name for name in self.alarm_names):
            raise invalid(f"{prop}.alarm_names", list(self.alarm_names), "non-empty alarm names")

    def _common_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "min_healthy_percent": self.min_healthy_percent,
            "max_healthy_percent": self.max_healthy_percent,
            # Failed tasks fail the deployment in minutes, not hours (aws-cdk 12360).
            "circuit_breaker": ecs.DeploymentCircuitBreaker(
                enable=True, rollback=self.circuit_breaker_rollback
            ),
        }
        if self.alarm_names:
            props["deployment_alarms"] = ecs.DeploymentAlarmConfig(
                alarm_names=list(self.alarm_names),
                behavior=(
                    ecs.AlarmBehavior.ROLLBACK_ON_ALARM
                    if self.rollback_on_alarm
                    else ecs.AlarmBehavior.FAIL_ON_ALARM
                ),
            )
        return props


@dataclass(frozen=True)
class RollingDeployment(_Common):
    """Replace tasks in place (ECS rolling update).

    :param min_healthy_percent: tasks kept running during a deployment, % of the desired
        count. Default: 100 (never below the desired count; aws-ecs-patterns uses 50).
    :param max_healthy_percent: tasks allowed during a deployment. Default: 200.
    :param circuit_breaker_rollback: roll back when the circuit breaker trips (tasks keep
        failing to start). The circuit breaker itself is always on. Default: True.
    :param alarm_names: CloudWatch alarms that fail the deployment when they fire.
        Default: none.
    :param rollback_on_alarm: roll back (True) or only fail (False) when an alarm fires.
        Default: True.
    :param availability_zone_rebalancing: ECS moves tasks to keep AZs balanced (needs
        ``max_healthy_percent`` above 100). Default: True.
    :param bake_time: keep the old tasks this long after the new ones are healthy, ready for a
        rollback. Default: none.
    """

    availability_zone_rebalancing: bool = True
    bake_time: Duration | None = None

    @property
    def shifts_traffic(self) -> bool:
        return False

    def validate(self, prop: str) -> None:
        self._validate_common(prop)
        check_az_rebalancing(prop, self.availability_zone_rebalancing, self.max_healthy_percent)
        if self.bake_time is not None:
            check_deployment_minutes(f"{prop}.bake_time (minutes)", _minutes(self.bake_time))

    def service_props(self) -> dict[str, Any]:
        props = self._common_props()
        if self.bake_time is not None:
            props["bake_time"] = self.bake_time
        return props


@dataclass(frozen=True)
class _TrafficShifting(_Common):
    bake_time: Duration = field(default_factory=lambda: Duration.minutes(15))
    lifecycle_hooks: tuple[ecs.IDeploymentLifecycleHookTarget, ...] = ()

    @property
    def shifts_traffic(self) -> bool:
        return True

    def _validate_shift(self, prop: str) -> int:
        self._validate_common(prop)
        return check_deployment_minutes(f"{prop}.bake_time (minutes)", _minutes(self.bake_time))

    def _shift_props(self, strategy: ecs.DeploymentStrategy) -> dict[str, Any]:
        props = self._common_props()
        props["deployment_strategy"] = strategy
        props["bake_time"] = self.bake_time
        if self.lifecycle_hooks:
            props["lifecycle_hooks"] = list(self.lifecycle_hooks)
        return props


@dataclass(frozen=True)
class BlueGreenDeployment(_TrafficShifting):
    """ECS native blue/green: start the new tasks in the alternate target group, shift all
    traffic at once, keep the old tasks for ``bake_time``, roll back on failure.

    Needs an Application Load Balancer (``WebService``). The test listener (when the load
    balancer has one) reaches the new tasks before production traffic does.

    :param bake_time: both revisions run this long after the shift, 0-1440 min.
        Default: 15 minutes (the ECS default).
    :param lifecycle_hooks: Lambda hooks at deployment stages
        (``ecs.DeploymentLifecycleLambdaTarget``). Default: none.
    :param min_healthy_percent: Default: 100. :param max_healthy_percent: Default: 200.
    :param circuit_breaker_rollback: Default: True. :param alarm_names: Default: none.
    :param rollback_on_alarm: Default: True.
    """

    def validate(self, prop: str) -> None:
        self._validate_shift(prop)

    def service_props(self) -> dict[str, Any]:
        return self._shift_props(ecs.DeploymentStrategy.BLUE_GREEN)


@dataclass(frozen=True)
class CanaryDeployment(_TrafficShifting):
    """Shift ``step_percent`` of the traffic to the new tasks, wait ``step_bake_time``, then
    shift the rest (ECS native canary; needs an Application Load Balancer).

    :param step_percent: the canary's share, 0.1-100 in steps of 0.1. Default: 5.0.
    :param step_bake_time: time at the canary share, 0-1440 min. Default: 10 minutes.
    :param bake_time: both revisions run this long after the full shift. Default: 15 minutes.
    Other props as :class:`BlueGreenDeployment`.
    """

    step_percent: float = 5.0
    step_bake_time: Duration = field(default_factory=lambda: Duration.minutes(10))

    def validate(self, prop: str) -> None:
        bake = self._validate_shift(prop)
        check_traffic_shift_percent(f"{prop}.step_percent", self.step_percent, 0.1)
        step = check_deployment_minutes(
            f"{prop}.step_bake_time (minutes)", _minutes(self.step_bake_time)
        )
        check_deployment_duration(f"{prop} bake_time + step_bake_time", bake + step)

    def service_props(self) -> dict[str, Any]:
        props = self._shift_props(ecs.DeploymentStrategy.CANARY)
        props["canary_configuration"] = ecs.TrafficShiftConfig(
            step_percent=self.step_percent, step_bake_time=self.step_bake_time
        )
        return props


@dataclass(frozen=True)
class LinearDeployment(_TrafficShifting):
    """Shift the traffic in equal ``step_percent`` steps, ``step_bake_time`` apart (ECS native
    linear; needs an Application Load Balancer).

    :param step_percent: each step's share, 3-100 in steps of 0.1. Default: 10.0.
    :param step_bake_time: time between steps, 0-1440 min. Default: 6 minutes.
    :param bake_time: both revisions run this long after the last step. Default: 15 minutes.
    Other props as :class:`BlueGreenDeployment`.
    """

    step_percent: float = 10.0
    step_bake_time: Duration = field(default_factory=lambda: Duration.minutes(6))

    def validate(self, prop: str) -> None:
        bake = self._validate_shift(prop)
        check_traffic_shift_percent(f"{prop}.step_percent", self.step_percent, 3.0)
        step = check_deployment_minutes(
            f"{prop}.step_bake_time (minutes)", _minutes(self.step_bake_time)
        )
        steps = math.ceil(100.0 / self.step_percent - 1e-9)
        check_deployment_duration(
            f"{prop} bake_time + step_bake_time x {steps} steps", bake + step * steps
        )

    def service_props(self) -> dict[str, Any]:
        props = self._shift_props(ecs.DeploymentStrategy.LINEAR)
        props["linear_configuration"] = ecs.TrafficShiftConfig(
            step_percent=self.step_percent, step_bake_time=self.step_bake_time
        )
        return props


Deployment = RollingDeployment | BlueGreenDeployment | CanaryDeployment | LinearDeployment
"""Any of the four strategies, the type of every service's ``deployment=`` prop."""


def check_deployment(
    prop: str, deployment: object, *, allow_traffic_shifting: bool, owner: str
) -> Deployment:
    """Validate ``deployment`` for a service; traffic shifting only where ``owner`` has an ALB."""
    if not isinstance(
        deployment, RollingDeployment | BlueGreenDeployment | CanaryDeployment | LinearDeployment
    ):
        raise invalid(
            prop,
            deployment,
            "a RollingDeployment, BlueGreenDeployment, CanaryDeployment or LinearDeployment",
        )
    if deployment.shifts_traffic and not allow_traffic_shifting:
        raise invalid(
            prop,
            type(deployment).__name__,
            f"RollingDeployment for {owner} (blue/green, canary and linear shift traffic "
            "between target groups of an Application Load Balancer: use a WebService)",
        )
    deployment.validate(prop)
    return deployment
