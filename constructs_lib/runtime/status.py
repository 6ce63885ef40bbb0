"""``ecskit status``: desired/running/pending, deployments, recent events and alarm states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib.runtime.aws import DESCRIBE_ALARMS_BATCH, Clients, batched, error_code
from constructs_lib.runtime.errors import NotFoundError
from constructs_lib.runtime.rollout import _describe_services

__all__ = ["DeploymentStatus", "ServiceStatus", "StatusOptions", "service_status"]


@dataclass(frozen=True)
class StatusOptions:
    """Options of ``ecskit status``: ``services`` [all services of the cluster], ``events`` [5]."""

    cluster: str
    services: tuple[str, ...] = ()
    events: int = 5


@dataclass(frozen=True)
class DeploymentStatus:
    """One entry of ``Service.deployments``."""

    id: str
    status: str
    rollout_state: str | None
    rollout_state_reason: str | None
    task_definition: str
    desired: int
    running: int
    pending: int
    failed_tasks: int


@dataclass(frozen=True)
class ServiceStatus:
    """One service: counts, deployments, newest events, deployment alarms and their states."""

    service: str
    status: str
    desired: int
    running: int
    pending: int
    task_definition: str
    deployments: tuple[DeploymentStatus, ...]
    events: tuple[str, ...]
    alarms: tuple[tuple[str, str], ...]
    current_service_deployment: str | None


def _list_services(clients: Clients, cluster: str) -> list[str]:
    names: list[str] = []
    paginator = clients.ecs.get_paginator("list_services")
    for page in paginator.paginate(cluster=cluster):
        names.extend(arn.rsplit("/", 1)[-1] for arn in page.get("serviceArns", []))
    return names


def _alarm_states(clients: Clients, names: list[str]) -> dict[str, str]:
    """State of each named alarm. ``AlarmTypes`` names both kinds: without it CloudWatch
    returns metric alarms only, and a composite deployment alarm would show as MISSING."""
    states: dict[str, str] = {}
    for batch in batched(sorted(set(names)), DESCRIBE_ALARMS_BATCH):
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "AlarmNames": batch,
                "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
                "MaxRecords": 100,
            }
            if token:
                kwargs["NextToken"] = token
            response = clients.cloudwatch.describe_alarms(**kwargs)
            for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
                states[alarm["AlarmName"]] = alarm.get("StateValue", "?")
            token = response.get("NextToken")
            if not token:
                break
    return states


def _deployment(d: Mapping[str, Any]) -> DeploymentStatus:
    return DeploymentStatus(
        id=str(d.get("id", "")),
        status=str(d.get("status", "")),
        rollout_state=d.get("rolloutState"),
        rollout_state_reason=d.get("rolloutStateReason"),
        task_definition=str(d.get("taskDefinition", "")).rsplit("/", 1)[-1],
        desired=int(d.get("desiredCount", 0) or 0),
        running=int(d.get("runningCount", 0) or 0),
        pending=int(d.get("pendingCount", 0) or 0),
        failed_tasks=int(d.get("failedTasks", 0) or 0),
    )


def service_status(clients: Clients, options: StatusOptions) -> list[ServiceStatus]:
    """Describe the services (batches of 10) and their deployment alarms (batches of 100)."""
    try:
        names = list(options.services) or _list_services(clients, options.cluster)
    except Exception as exc:
        if error_code(exc) == "ClusterNotFoundException":
            raise NotFoundError(
                f"--cluster {options.cluster!r}: cluster not found; check the name and --region"
            ) from None
        raise
    services = _describe_services(clients, options.cluster, names) if names else []
    alarm_names = [
        name
        for s in services
        for name in ((s.get("deploymentConfiguration") or {}).get("alarms") or {}).get(
            "alarmNames", []
        )
    ]
    states = _alarm_states(clients, alarm_names) if alarm_names else {}
    out: list[ServiceStatus] = []
    for s in services:
        alarms = ((s.get("deploymentConfiguration") or {}).get("alarms") or {}).get(
            "alarmNames", []
        )
        out.append(
            ServiceStatus(
                service=str(s.get("serviceName", "")),
                status=str(s.get("status", "")),
                desired=int(s.get("desiredCount", 0) or 0),
                running=int(s.get("runningCount", 0) or 0),
                pending=int(s.get("pendingCount", 0) or 0),
                task_definition=str(s.get("taskDefinition", "")).rsplit("/", 1)[-1],
                deployments=tuple(_deployment(d) for d in s.get("deployments") or []),
                events=tuple(
                    f"{e.get('createdAt', '')} {e.get('message', '')}".strip()
                    for e in (s.get("events") or [])[: options.events]
                ),
                alarms=tuple((a, states.get(a, "MISSING")) for a in alarms),
                current_service_deployment=s.get("currentServiceDeployment"),
            )
        )
    return out
