"""Scripted scenario layer for what moto does not model, driven by timelines on a fake clock.

moto models: clusters, task definitions, services (create/describe/list), RunTask/StopTask,
DescribeTasks (with moto's own task state machine), CloudWatch Logs, CloudWatch alarms.

Scripted here (through botocore event hooks on the real boto3 clients):

* container exit codes, ``stopCode``/``stoppedReason``, ``startedAt`` and task phases:
  :class:`TaskTimeline` rewrites moto's ``DescribeTasks`` answer (``after-call``);
* deployment progress, ``rolloutState``, circuit breaker, the service deployments API
  (``ListServiceDeployments``/``DescribeServiceDeployments``/``StopServiceDeployment``, which
  moto lacks): :class:`FleetScript` answers ``DescribeServices`` and friends itself
  (``before-call`` returning a response short-circuits the call, so no moto and no network);
* throttling: :meth:`Script.throttle` answers the HTTP send (``before-send``) with a 400
  ``ThrottlingException`` so botocore's retry handler sees a real throttling response;
* API rules moto relaxes, scripted in the tests that need them: FilterLogEvents failing when
  one named stream is missing, DescribeAlarms returning composite alarms only when asked
  (``AlarmTypes``), ListTasks pages, CloudWatch ingestion lag.

Answers see the call's API parameters as recorded at ``provide-client-params`` (before any
serialization), so they work for every wire protocol (JSON, query, CBOR).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse

Params = dict[str, Any]


class FakeClock:
    """Injected clock: ``sleep`` advances ``now``; optionally raises Ctrl-C at ``interrupt_at``."""

    STALL_LIMIT = 1000
    """Consecutive sleeps that do not move the clock before it calls it a busy loop."""

    def __init__(self, start: float = 0.0, *, interrupt_at: float | None = None) -> None:
        self.t = start
        self.interrupt_at = interrupt_at
        self.sleeps: list[float] = []
        self._stalled = 0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self.interrupt_at is not None and self.t + seconds >= self.interrupt_at:
            self.t = self.interrupt_at
            self.interrupt_at = None
            raise KeyboardInterrupt
        self.sleeps.append(seconds)
        before, self.t = self.t, self.t + seconds
        self._stalled = self._stalled + 1 if seconds > 0 and self.t == before else 0
        if self._stalled >= self.STALL_LIMIT:
            raise AssertionError(
                f"busy loop: {self.STALL_LIMIT} sleeps of ~{seconds:g} s did not move the clock"
            )


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def stub_response(parsed: Params, status: int = 200) -> tuple[AWSResponse, Params]:
    """A ``before-call`` short-circuit answer: ``(http_response, parsed_response)``."""
    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status, "RequestId": "scripted"})
    return AWSResponse("https://scripted.invalid", status, {}, _RawBody(b"")), parsed


class Script:
    """Hooks on one client; ``calls`` counts every operation the client made."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.service = client.meta.service_model.service_id.hyphenize()
        self.calls: Counter[str] = Counter()
        self.params: dict[str, list[Params]] = {}
        client.meta.events.register(f"provide-client-params.{self.service}", self._record)

    def _record(self, params: Params, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        self.params.setdefault(model.name, []).append(dict(params))

    def last_params(self, operation: str) -> Params:
        """The API parameters of the call in progress (recorded before ``before-call``, so
        this works for every wire protocol: JSON, query, CBOR)."""
        return dict(self.params[operation][-1])

    def answer(self, operation: str, fn: Callable[[Params], Params]) -> None:
        """Answer ``operation`` with ``fn(params)`` instead of calling moto/AWS."""

        def handler(**_: Any) -> tuple[AWSResponse, Params]:
            return stub_response(fn(self.last_params(operation)))

        self.client.meta.events.register(f"before-call.{self.service}.{operation}", handler)

    def fail(self, operation: str, code: str, message: str, status: int = 400) -> None:
        """Answer ``operation`` with an error (not retried: no HTTP send happens)."""
        self.answer_error(operation, lambda _p: (code, message, status))

    def answer_error(
        self, operation: str, fn: Callable[[Params], tuple[str, str, int] | None]
    ) -> None:
        def handler(**_: Any) -> tuple[AWSResponse, Params] | None:
            error = fn(self.last_params(operation))
            if error is None:
                return None
            code, message, status = error
            return stub_response({"Error": {"Code": code, "Message": message}}, status)

        self.client.meta.events.register_first(f"before-call.{self.service}.{operation}", handler)

    def rewrite(self, operation: str, fn: Callable[[Params], None]) -> None:
        """Edit moto's parsed answer of ``operation`` in place (``after-call``)."""

        def handler(parsed: Params, **_: Any) -> None:
            fn(parsed)

        self.client.meta.events.register(f"after-call.{self.service}.{operation}", handler)

    def throttle(self, operation: str, times: int) -> Counter[str]:
        """The next ``times`` HTTP sends of ``operation`` get a 400 ThrottlingException."""
        seen: Counter[str] = Counter()
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()

        def handler(request: Any, **_: Any) -> AWSResponse | None:
            if seen["throttled"] >= times:
                seen["passed"] += 1
                return None
            seen["throttled"] += 1
            headers = {
                "x-amzn-ErrorType": "ThrottlingException",
                "Content-Type": "application/json",
            }
            return AWSResponse(request.url, 400, headers, _RawBody(body))

        self.client.meta.events.register_first(f"before-send.{self.service}.{operation}", handler)
        return seen


@dataclass
class Phase:
    """From ``at`` seconds after the first DescribeTasks, the task looks like ``task``."""

    at: float
    task: Params
    action: Callable[[str], None] | None = None


@dataclass
class TaskTimeline:
    """Scripted task lifecycle layered on moto's DescribeTasks answer (scripted, not moto).

    Each phase patches ``lastStatus``, ``stopCode``, ``stoppedReason``, ``startedAt`` and
    ``containers`` (a full list: moto models one container with exit code 0). A phase's
    ``action(task_id)`` runs once when the phase first shows (e.g. to write log lines).
    ``StopTask`` (moto) is honoured: after it, the task is STOPPED with ``UserInitiated``.
    """

    clock: FakeClock
    phases: list[Phase]
    started: float | None = None
    fired: set[int] = field(default_factory=set)
    stop_requested: str | None = None

    def install(self, script: Script) -> None:
        script.rewrite("DescribeTasks", self._rewrite)

        def on_stop(parsed: Params) -> None:
            self.stop_requested = str(parsed.get("task", {}).get("stoppedReason", "stopped"))

        script.rewrite("StopTask", on_stop)

    def _rewrite(self, parsed: Params) -> None:
        if self.started is None:
            self.started = self.clock.now()
        elapsed = self.clock.now() - self.started
        for task in parsed.get("tasks", []):
            task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
            current: Params = {}
            for index, phase in enumerate(self.phases):
                if phase.at <= elapsed:
                    current = phase.task
                    if index not in self.fired:
                        self.fired.add(index)
                        if phase.action:
                            phase.action(task_id)
            for key in ("stopCode", "stoppedReason", "startedAt", "stoppedAt"):
                task.pop(key, None)
            task.update({k: v for k, v in current.items() if k != "containers"})
            if "containers" in current:
                task["containers"] = [dict(c) for c in current["containers"]]
            if self.stop_requested and current.get("lastStatus") != "STOPPED":
                task["lastStatus"] = "STOPPED"
                task["stopCode"] = "UserInitiated"
                task["stoppedReason"] = self.stop_requested
                for c in task.get("containers", []):
                    c["lastStatus"] = "STOPPED"
                    c.setdefault("exitCode", 137)


def when(seconds: float) -> datetime:
    """A fixed timestamp for scripted ``startedAt``/``createdAt`` fields."""
    return datetime(2025, 1, 1, tzinfo=UTC).replace(second=int(seconds) % 60)


# --- Fleet: scripted services and deployments (DescribeServices et al.) -----------------------


@dataclass
class ServiceScript:
    """One service's rollout timeline (scripted; moto has no deployment progress).

    Starting at ``start``, ``desired`` new tasks come up one every ``step`` seconds; the
    deployment completes ``settle`` seconds after the last. With ``fail_at`` set, tasks fail
    from ``fail_at - 3 * step`` on and the circuit breaker trips at ``fail_at``: the deployment
    turns FAILED, a rollback deployment becomes PRIMARY, the service deployment goes
    ROLLBACK_IN_PROGRESS, and ``rollback_done`` seconds later the old tasks are back (one
    deployment, running == desired: what the ``services-stable`` waiter accepts).
    ``alarm_at``: a deployment alarm goes to ALARM (ECS reports it through the service
    deployment and rolls back the same way).
    """

    name: str
    desired: int = 2
    start: float = 0.0
    step: float = 20.0
    settle: float = 30.0
    fail_at: float | None = None
    alarm_at: float | None = None
    rollback_done: float = 300.0
    alarms: tuple[str, ...] = ()

    @property
    def completes_at(self) -> float:
        return self.start + self.desired * self.step + self.settle

    def failure_at(self) -> float | None:
        times = [t for t in (self.fail_at, self.alarm_at) if t is not None]
        return min(times) if times else None


@dataclass
class FleetScript:
    """Answers ECS reads for a fleet of scripted services on a fake clock (no moto)."""

    clock: FakeClock
    cluster: str
    services: dict[str, ServiceScript]
    region: str = "us-east-1"
    account: str = "123456789012"

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account}:{kind}/{self.cluster}/{name}"

    def sd_arn(self, name: str) -> str:
        return self.arn("service-deployment", f"{name}/sd-{name}")

    def install(self, script: Script) -> None:
        script.answer("DescribeServices", self.describe_services)
        script.answer("DescribeServiceDeployments", self.describe_service_deployments)
        script.answer("ListTasks", self.list_tasks)
        script.answer("DescribeTasks", self.describe_tasks)
        script.answer("StopServiceDeployment", self.stop_service_deployment)
        script.answer("ListServiceDeployments", self.list_service_deployments)

    def _failed(self, s: ServiceScript) -> bool:
        at = s.failure_at()
        return at is not None and self.clock.now() >= at

    def service(self, s: ServiceScript) -> Params:
        now = self.clock.now()
        new_id, old_id = f"ecs-svc/{s.name}-new", f"ecs-svc/{s.name}-old"
        up = max(0, min(s.desired, int((now - s.start) // s.step))) if now >= s.start else 0
        at = s.failure_at()
        failed_tasks = 0
        if s.fail_at is not None:
            failed_tasks = max(0, min(3, int((now - (s.fail_at - 3 * s.step)) // s.step) + 1))
            up = 0
        new: Params = {
            "id": new_id,
            "status": "PRIMARY",
            "taskDefinition": self.arn("task-definition", f"{s.name}:2"),
            "desiredCount": s.desired,
            "runningCount": up,
            "pendingCount": s.desired - up,
            "failedTasks": failed_tasks,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {new_id} in progress.",
        }
        old: Params = {
            "id": old_id,
            "status": "ACTIVE",
            "taskDefinition": self.arn("task-definition", f"{s.name}:1"),
            "desiredCount": s.desired,
            "runningCount": s.desired - up,
            "pendingCount": 0,
            "failedTasks": 0,
            "rolloutState": "COMPLETED",
        }
        deployments = [new, old]
        if at is not None and now >= at:
            why = "circuit breaker" if at == s.fail_at else "alarm(s) in ALARM"
            new.update(
                status="ACTIVE",
                rolloutState="FAILED",
                rolloutStateReason=f"ECS deployment {new_id} failed: {why}. Rolling back.",
                runningCount=0,
            )
            old.update(status="PRIMARY", rolloutState="IN_PROGRESS", runningCount=s.desired - 1)
            if now >= at + s.rollback_done:  # rollback finished: only the old one is left
                old.update(rolloutState="COMPLETED", runningCount=s.desired)
                deployments = [old]
        elif now >= s.completes_at and at is None:
            new.update(rolloutState="COMPLETED", rolloutStateReason="completed")
            deployments = [new]
        primary = next(d for d in deployments if d["status"] == "PRIMARY")
        return {
            "serviceName": s.name,
            "serviceArn": self.arn("service", s.name),
            "status": "ACTIVE",
            "desiredCount": s.desired,
            "runningCount": sum(d["runningCount"] for d in deployments),
            "pendingCount": primary["pendingCount"],
            "deployments": deployments,
            "currentServiceDeployment": self.sd_arn(s.name),
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "alarms": {
                    "alarmNames": list(s.alarms),
                    "enable": bool(s.alarms),
                    "rollback": True,
                },
            },
            "events": [{"id": "e1", "message": f"(service {s.name}) has started 1 tasks."}],
        }

    def describe_services(self, params: Params) -> Params:
        names = params["services"]
        assert len(names) <= 10, "DescribeServices takes at most 10 services"
        found = [self.service(self.services[n]) for n in names if n in self.services]
        failures = [
            {"arn": self.arn("service", n), "reason": "MISSING"}
            for n in names
            if n not in self.services
        ]
        return {"services": found, "failures": failures}

    def describe_service_deployments(self, params: Params) -> Params:
        arns = params["serviceDeploymentArns"]
        assert len(arns) <= 20, "DescribeServiceDeployments takes at most 20 ARNs"
        out = []
        for arn in arns:
            name = arn.split("/")[-2]
            s = self.services[name]
            failed = self._failed(s)
            alarm = s.alarm_at is not None and self.clock.now() >= s.alarm_at
            status = "ROLLBACK_IN_PROGRESS" if failed else "IN_PROGRESS"
            sd: Params = {
                "serviceDeploymentArn": arn,
                "status": status,
                "deploymentCircuitBreaker": {
                    "status": "TRIGGERED" if failed and not alarm else "MONITORING",
                    "failureCount": 3 if failed and not alarm else 0,
                    "threshold": 3,
                },
            }
            if s.alarms:
                sd["alarms"] = {
                    "status": "TRIGGERED" if alarm else "MONITORING",
                    "alarmNames": list(s.alarms),
                    "triggeredAlarmNames": [s.alarms[0]] if alarm else [],
                }
            if failed:
                sd["rollback"] = {"reason": "circuit breaker" if not alarm else "alarm"}
            out.append(sd)
        return {"serviceDeployments": out}

    def list_tasks(self, params: Params) -> Params:
        name = params.get("serviceName", "")
        return {"taskArns": [self.arn("task", f"{name}-stopped-{i}") for i in range(3)]}

    def describe_tasks(self, params: Params) -> Params:
        tasks = []
        for arn in params["tasks"]:
            name = arn.rsplit("/", 1)[-1].split("-stopped-")[0]
            tasks.append(
                {
                    "taskArn": arn,
                    "lastStatus": "STOPPED",
                    "startedBy": f"ecs-svc/{name}-new",
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                    "containers": [{"name": "app", "exitCode": 1, "reason": "OOM? no: exit 1"}],
                }
            )
        return {"tasks": tasks, "failures": []}

    def stop_service_deployment(self, params: Params) -> Params:
        return {"serviceDeploymentArn": params["serviceDeploymentArn"]}

    def list_service_deployments(self, params: Params) -> Params:
        name = params["service"]
        return {
            "serviceDeployments": [
                {"serviceDeploymentArn": self.sd_arn(name), "status": "IN_PROGRESS"}
            ]
        }
