"""``ecskit rollout``: wait for the current deployment of services; report a failure as it starts.

A service is watched through the deployment that was PRIMARY at the first poll
(``DescribeServices`` ``deployments[].id``) and, where the API has it, its service deployment
(``currentServiceDeployment``, read with ``DescribeServiceDeployments``; no listing needed).

* completed: that deployment's ``rolloutState`` is ``COMPLETED`` (services without
  ``rolloutState``: one deployment left and ``runningCount == desiredCount``, like the
  ``services-stable`` waiter).
* failed (exit 1), reported at the first poll that shows it, without waiting for a rollback
  to finish: ``rolloutState`` ``FAILED`` (circuit breaker), the deployment superseded or gone,
  service deployment status ``ROLLBACK_REQUESTED``/``ROLLBACK_IN_PROGRESS``/``ROLLBACK_*``/
  ``STOP*``, circuit breaker ``TRIGGERED``, or a deployment alarm triggered. The report names
  the reason, the triggered alarms, recent service events and the stopped tasks' reasons.
* timeout: exit 124 (with the stopped tasks' reasons of services that had failed tasks).

Polling: ``DescribeServices`` for the unfinished services in batches of 10 each cycle;
``DescribeServiceDeployments`` (batches of 20) at the first poll (a rollback may already be
under way), then only for services with deployment alarms or with a suspicious change (new
failed tasks, a new PRIMARY deployment). The interval is
``min_interval`` after a change and grows x1.5 per steady cycle up to ``max_interval``, but
never below ``seconds_per_call`` x the calls of one cycle, so the total rate stays bounded
however many services are watched (50 services: 5 calls per 4.5 s, about 1.3 calls per
service per minute, failures seen within 4.5 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from constructs_lib.runtime.aws import (
    DESCRIBE_SERVICE_DEPLOYMENTS_BATCH,
    DESCRIBE_SERVICES_BATCH,
    DESCRIBE_TASKS_BATCH,
    Clients,
    Clock,
    SystemClock,
    batched,
    error_code,
)
from constructs_lib.runtime.errors import NotFoundError, UsageError

__all__ = [
    "EXIT_FAILED",
    "EXIT_TIMEOUT",
    "RolloutOptions",
    "RolloutResult",
    "ServiceRollout",
    "watch_rollout",
]

EXIT_FAILED = 1
EXIT_TIMEOUT = 124

_FAILED_SERVICE_DEPLOYMENT = {
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
    "STOP_REQUESTED",
    "STOPPED",
}


@dataclass(frozen=True)
class RolloutOptions:
    """Options of ``ecskit rollout`` (defaults in brackets).

    * ``timeout`` [1800 s]: then exit 124.
    * ``min_interval`` / ``max_interval`` [2 s / 5 s]: poll interval after a change / when
      steady (the bound on how late a failure is seen).
    * ``seconds_per_call`` [0.9 s]: the interval is at least this times the calls of one
      cycle (caps the total request rate at about 1.1 calls/s).
    * ``stopped_tasks`` [5]: how many stopped tasks' reasons to report per failed service.
    """

    cluster: str
    services: tuple[str, ...]
    timeout: float = 1800.0
    min_interval: float = 2.0
    max_interval: float = 5.0
    seconds_per_call: float = 0.9
    stopped_tasks: int = 5


@dataclass(frozen=True)
class ServiceRollout:
    """One service's rollout as last seen; ``state`` is COMPLETED, FAILED or IN_PROGRESS."""

    service: str
    state: str
    deployment_id: str | None = None
    task_definition: str | None = None
    desired: int = 0
    running: int = 0
    pending: int = 0
    failed_tasks: int = 0
    rollout_state_reason: str | None = None
    reason: str | None = None
    service_deployment_arn: str | None = None
    service_deployment_status: str | None = None
    circuit_breaker: str | None = None
    triggered_alarms: tuple[str, ...] = ()
    stopped_task_reasons: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    detected_at_seconds: float | None = None


@dataclass(frozen=True)
class RolloutResult:
    """The outcome: ``exit_code`` 0 completed, 1 failed, 124 timeout."""

    exit_code: int
    outcome: str
    cluster: str
    services: tuple[ServiceRollout, ...]
    elapsed_seconds: float
    api_calls: int
    polls: int

    @property
    def failed(self) -> tuple[ServiceRollout, ...]:
        """The services whose rollout failed."""
        return tuple(s for s in self.services if s.state == "FAILED")


@dataclass
class _Watch:
    seen: bool = False
    deployment_id: str | None = None
    service_deployment_arn: str | None = None
    failed_tasks: int = 0
    fingerprint: tuple[Any, ...] = ()
    alarms_enabled: bool = False
    state: ServiceRollout | None = None
    last_service: Mapping[str, Any] = field(default_factory=dict)


def _events(service: Mapping[str, Any], count: int = 3) -> tuple[str, ...]:
    return tuple(str(e.get("message", "")) for e in (service.get("events") or [])[:count])


def evaluate_service(  # noqa: PLR0911 - one return per documented outcome
    service: Mapping[str, Any], watch: _Watch
) -> tuple[ServiceRollout, bool]:
    """Classify one ``DescribeServices`` entry (pure). Returns the state and "suspicious".

    Suspicious means: worth a ``DescribeServiceDeployments`` call this cycle. The first look
    at a service always is: its deployment may be rolling back already when the watch starts
    (the PRIMARY deployment is then the rollback's, and would look like a healthy rollout).
    """
    first_look = not watch.seen
    watch.seen = True
    name = str(service.get("serviceName", ""))
    deployments: Sequence[Mapping[str, Any]] = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if watch.deployment_id is None and primary is not None:
        watch.deployment_id = str(primary.get("id"))
    if watch.service_deployment_arn is None and service.get("currentServiceDeployment"):
        watch.service_deployment_arn = str(service["currentServiceDeployment"])
    alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    watch.alarms_enabled = bool(alarms.get("enable"))
    watched = next((d for d in deployments if d.get("id") == watch.deployment_id), None)
    base = ServiceRollout(
        service=name,
        state="IN_PROGRESS",
        deployment_id=watch.deployment_id,
        task_definition=(watched or {}).get("taskDefinition", service.get("taskDefinition")),
        desired=int((watched or service).get("desiredCount", 0) or 0),
        running=int((watched or service).get("runningCount", 0) or 0),
        pending=int((watched or service).get("pendingCount", 0) or 0),
        failed_tasks=int((watched or {}).get("failedTasks", 0) or 0),
        rollout_state_reason=(watched or {}).get("rolloutStateReason"),
        service_deployment_arn=watch.service_deployment_arn,
        events=_events(service),
    )
    if service.get("status") in {"DRAINING", "INACTIVE"}:
        return replace(base, state="FAILED", reason=f"service is {service.get('status')}"), False
    if watched is None:
        if not deployments:  # CODE_DEPLOY / EXTERNAL controllers keep no deployments here
            done = int(service.get("runningCount", 0)) == int(service.get("desiredCount", 0))
            return replace(base, state="COMPLETED" if done else "IN_PROGRESS"), False
        other = primary.get("id") if primary else "?"
        return replace(
            base,
            state="FAILED",
            reason=f"deployment {watch.deployment_id} is gone (now {other})",
        ), True
    rollout_state = watched.get("rolloutState")
    suspicious = first_look or base.failed_tasks > watch.failed_tasks or watch.alarms_enabled
    watch.failed_tasks = base.failed_tasks
    if rollout_state == "FAILED":
        return replace(
            base,
            state="FAILED",
            reason=watched.get("rolloutStateReason") or "rollout FAILED",
        ), True
    if watched.get("status") != "PRIMARY" and rollout_state != "COMPLETED":
        new = primary or {}
        return replace(
            base,
            state="FAILED",
            reason=(
                f"deployment {watch.deployment_id} was superseded by {new.get('id', '?')} "
                f"({str(new.get('taskDefinition', '?')).rsplit('/', 1)[-1]})"
            ),
        ), True
    if rollout_state == "COMPLETED":
        return replace(base, state="COMPLETED"), first_look
    if rollout_state is None and len(deployments) == 1 and base.running == base.desired:
        return replace(base, state="COMPLETED"), first_look
    return base, suspicious


def apply_service_deployment(
    state: ServiceRollout, deployment: Mapping[str, Any]
) -> ServiceRollout:
    """Refine a state with its ``DescribeServiceDeployments`` entry (pure)."""
    status = deployment.get("status")
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    alarms = deployment.get("alarms") or {}
    rollback = deployment.get("rollback") or {}
    triggered = tuple(alarms.get("triggeredAlarmNames") or ())
    breaker_text = None
    if breaker:
        breaker_text = (
            f"{breaker.get('status', '?')} ({breaker.get('failureCount', 0)}/"
            f"{breaker.get('threshold', '?')} failed tasks)"
        )
    state = replace(
        state,
        service_deployment_status=status,
        circuit_breaker=breaker_text,
        triggered_alarms=triggered or state.triggered_alarms,
    )
    reasons: list[str] = []
    if status in _FAILED_SERVICE_DEPLOYMENT:
        reasons.append(f"service deployment {status}")
    if breaker.get("status") == "TRIGGERED":
        reasons.append(f"circuit breaker triggered ({breaker.get('failureCount', 0)} failed tasks)")
    if alarms.get("status") == "TRIGGERED" or triggered:
        reasons.append(f"deployment alarm in ALARM: {', '.join(triggered) or '?'}")
    if rollback.get("reason"):
        reasons.append(f"rollback: {rollback['reason']}")
    if deployment.get("statusReason") and reasons:
        reasons.append(str(deployment["statusReason"]))
    if reasons:
        previous = [state.reason] if state.reason else []
        return replace(state, state="FAILED", reason="; ".join(previous + reasons))
    if status == "SUCCESSFUL" and state.state != "FAILED":
        return replace(state, state="COMPLETED")
    return state


def _describe_services(
    clients: Clients, cluster: str, names: Sequence[str]
) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for batch in batched(list(names), DESCRIBE_SERVICES_BATCH):
        try:
            response = clients.ecs.describe_services(cluster=cluster, services=batch)
        except Exception as exc:
            if error_code(exc) == "ClusterNotFoundException":
                raise NotFoundError(
                    f"--cluster {cluster!r}: cluster not found; check the name and --region"
                ) from None
            raise
        missing = [f.get("arn", "?").rsplit("/", 1)[-1] for f in response.get("failures", [])]
        inactive = [
            s.get("serviceName", "?")
            for s in response.get("services", [])
            if s.get("status") == "INACTIVE"
        ]
        if missing or inactive:
            raise NotFoundError(
                f"SERVICE {', '.join(missing + inactive)}: no such (active) service in cluster "
                f"{cluster!r}; check the name with `ecskit status --cluster {cluster}`"
            )
        out.extend(response.get("services", []))
    return out


def _describe_service_deployments(clients: Clients, arns: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for batch in batched(list(arns), DESCRIBE_SERVICE_DEPLOYMENTS_BATCH):
        response = clients.ecs.describe_service_deployments(serviceDeploymentArns=batch)
        for deployment in response.get("serviceDeployments", []):
            found[str(deployment.get("serviceDeploymentArn"))] = deployment
    return found


def stopped_task_reasons(
    clients: Clients, cluster: str, service: str, deployment_id: str | None, limit: int
) -> tuple[str, ...]:
    """Reasons of the service's most recently stopped tasks (preferring the deployment's).

    Best effort: an AWS error here becomes the one reason, so the failure report that needs
    these reasons is still printed.
    """
    try:
        arns = clients.ecs.list_tasks(
            cluster=cluster, serviceName=service, desiredStatus="STOPPED", maxResults=100
        ).get("taskArns", [])
        tasks: list[Mapping[str, Any]] = []
        for batch in batched(list(arns), DESCRIBE_TASKS_BATCH):
            tasks.extend(clients.ecs.describe_tasks(cluster=cluster, tasks=batch).get("tasks", []))
    except Exception as exc:
        if not error_code(exc):
            raise
        return (f"(stopped tasks unavailable: {error_code(exc)})",)
    mine = [t for t in tasks if deployment_id and t.get("startedBy") == deployment_id] or tasks
    mine.sort(key=lambda t: str(t.get("stoppedAt") or ""), reverse=True)
    reasons: list[str] = []
    for task in mine:
        parts = [f"{task.get('stopCode', '?')}: {task.get('stoppedReason', '')}".strip()]
        parts += [
            f"{c.get('name')}: {c.get('reason')}"
            for c in task.get("containers", [])
            if c.get("reason")
        ]
        parts += [
            f"{c.get('name')} exit {c.get('exitCode')}"
            for c in task.get("containers", [])
            if c.get("exitCode") not in (None, 0)
        ]
        text = "; ".join(parts)
        if text not in reasons:
            reasons.append(text)
        if len(reasons) >= limit:
            break
    return tuple(reasons)


def watch_rollout(
    clients: Clients,
    options: RolloutOptions,
    *,
    clock: Clock | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> RolloutResult:
    """Wait until every service's current deployment completed; stop at the first failure."""
    # ECS answers with names; an ARN's last part is the name (``service/[cluster/]name``).
    names = tuple(dict.fromkeys(s.rsplit("/", 1)[-1] for s in options.services if s))
    if not names:
        raise UsageError("SERVICE: name at least one service, e.g. ecskit rollout --cluster C web")
    if options.timeout <= 0:
        raise UsageError(f"--timeout {options.timeout:g}: must be > 0 seconds")
    clock = clock or SystemClock()
    progress = on_progress or (lambda _m: None)
    calls_before = clients.limiter.total_calls
    start = clock.now()
    watches = {name: _Watch() for name in names}
    pending = list(names)
    interval = options.min_interval
    polls = 0

    def finish(exit_code: int, outcome: str) -> RolloutResult:
        states = tuple(
            watches[n].state or ServiceRollout(service=n, state="IN_PROGRESS") for n in names
        )
        return RolloutResult(
            exit_code=exit_code,
            outcome=outcome,
            cluster=options.cluster,
            services=states,
            elapsed_seconds=round(clock.now() - start, 3),
            api_calls=clients.limiter.total_calls - calls_before,
            polls=polls,
        )

    while True:
        polls += 1
        cycle_calls = clients.limiter.total_calls
        services = _describe_services(clients, options.cluster, pending)
        changed = False
        deep: list[str] = []
        for service in services:
            name = str(service.get("serviceName"))
            if name not in watches:  # not asked for (ECS answers with the names asked)
                continue
            watch = watches[name]
            state, suspicious = evaluate_service(service, watch)
            fingerprint = (
                state.state,
                state.running,
                state.pending,
                state.failed_tasks,
                tuple(
                    (d.get("id"), d.get("status"), d.get("rolloutState"))
                    for d in service.get("deployments") or []
                ),
            )
            if fingerprint != watch.fingerprint:
                changed = True
                watch.fingerprint = fingerprint
                progress(
                    f"{name}: {state.state.lower()} {state.running}/{state.desired} running"
                    f", {state.pending} pending, {state.failed_tasks} failed"
                )
            watch.state = state
            watch.last_service = service
            if suspicious and watch.service_deployment_arn:
                deep.append(name)
        if deep:
            arns = [str(watches[n].service_deployment_arn) for n in deep]
            try:
                found = _describe_service_deployments(clients, arns)
            except Exception as exc:
                if error_code(exc) not in {
                    "UnknownOperationException",
                    "InvalidParameterException",
                }:
                    raise
                found = {}
            for name in deep:
                sd = found.get(str(watches[name].service_deployment_arn))
                current = watches[name].state
                if sd and current is not None:
                    watches[name].state = apply_service_deployment(current, sd)
        failed = [n for n in pending if (s := watches[n].state) and s.state == "FAILED"]
        if failed:
            for name in failed:
                failed_state = watches[name].state
                assert failed_state is not None
                reasons = stopped_task_reasons(
                    clients,
                    options.cluster,
                    name,
                    failed_state.deployment_id,
                    options.stopped_tasks,
                )
                watches[name].state = replace(
                    failed_state,
                    stopped_task_reasons=reasons,
                    detected_at_seconds=round(clock.now() - start, 3),
                )
                progress(f"{name}: FAILED: {failed_state.reason}")
            return finish(EXIT_FAILED, "failed")
        pending = [n for n in pending if (s := watches[n].state) is None or s.state != "COMPLETED"]
        if not pending:
            return finish(0, "completed")
        now = clock.now()
        if now - start >= options.timeout:
            for name in pending:
                late = watches[name].state
                if late is not None and late.failed_tasks:
                    watches[name].state = replace(
                        late,
                        stopped_task_reasons=stopped_task_reasons(
                            clients,
                            options.cluster,
                            name,
                            late.deployment_id,
                            options.stopped_tasks,
                        ),
                    )
            return finish(EXIT_TIMEOUT, "timeout")
        interval = options.min_interval if changed else interval * 1.5
        interval = min(interval, options.max_interval)
        calls = max(
            clients.limiter.total_calls - cycle_calls,
            math.ceil(len(pending) / DESCRIBE_SERVICES_BATCH),
        )
        pause = max(interval, options.seconds_per_call * calls)
        clock.sleep(min(pause, max(0.0, options.timeout - (now - start))))
