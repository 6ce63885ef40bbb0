"""``ecskit run``: start a one-off task, stream its logs, return its container's exit code.

Exit codes (a public interface, pipelines script against them):

* the watched container's exit code (``--container``, default: the first essential
  container of the task definition; sidecars do not decide);
* ``125`` the task never started (stopped before running: image pull failure, no capacity,
  bad network configuration; RunTask refused it; or the cluster, service or task definition
  does not exist) — ECS's ``stopCode`` and ``stoppedReason`` are reported;
* ``124`` timeout (the task is stopped unless ``keep_running``);
* ``130`` interrupted (Ctrl-C stops the task unless ``keep_running``, then exits);
* ``2`` usage errors (raised as :class:`~constructs_lib.runtime.errors.UsageError`).
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from constructs_lib.runtime.aws import Clients, Clock, SystemClock, error_code
from constructs_lib.runtime.errors import NotFoundError, UsageError
from constructs_lib.runtime.logs import LogCursor, LogEvent, iter_new_events, log_targets

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NOT_STARTED",
    "EXIT_TIMEOUT",
    "ContainerState",
    "RunOptions",
    "TaskResult",
    "parse_command",
    "parse_env",
    "run_task",
]

EXIT_NOT_STARTED = 125
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130
EXIT_NO_EXIT_CODE = 1
"""The task ran but ECS reports no exit code for the watched container (e.g. host lost)."""

_STARTED_STATES = {"RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}
_FARGATE_PROVIDERS = {"FARGATE", "FARGATE_SPOT"}


@dataclass(frozen=True)
class RunOptions:
    """Options of ``ecskit run`` (defaults in brackets).

    * ``service`` [none]: copy network configuration, launch type / capacity provider
      strategy and platform version from this service; explicit flags still win.
    * ``container`` [first essential container]: whose exit code and logs decide.
    * ``command`` [task definition's]: command override for ``container``.
    * ``env`` [none]: ``(KEY, VALUE)`` environment overrides for ``container``.
    * ``launch_type`` / ``capacity_provider`` [service's, else cluster default]: mutually
      exclusive.
    * ``subnets`` / ``security_groups`` / ``assign_public_ip`` [service's]: awsvpc settings.
    * ``timeout`` [3600 s; 0 = none]: then stop the task and return 124.
    * ``wait`` [True]: False returns right after RunTask (exit 0).
    * ``logs`` [True]: stream the container's awslogs while it runs and drain them after.
    * ``keep_running`` [False]: on timeout or Ctrl-C leave the task running.
    * ``min_poll_interval`` / ``max_poll_interval`` [2 s / 10 s]: poll DescribeTasks every
      ``min`` while the task changes, backing off x1.5 to ``max`` while it is steady.
    * ``drain_grace`` [3 s]: after the task stops, wait this long and read the logs again,
      and again while a read still finds new lines (CloudWatch ingestion lags a few seconds),
      for at most ``drain_max`` [30 s].
    * ``stop_wait`` [120 s]: after a timeout, how long to wait for the stopped task.
    * ``log_page_size`` [service default, 10,000 events]: GetLogEvents ``limit``.
    """

    cluster: str
    task_definition: str
    service: str | None = None
    container: str | None = None
    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    launch_type: str | None = None
    capacity_provider: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: bool | None = None
    timeout: float = 3600.0
    wait: bool = True
    logs: bool = True
    keep_running: bool = False
    min_poll_interval: float = 2.0
    max_poll_interval: float = 10.0
    drain_grace: float = 3.0
    drain_max: float = 30.0
    stop_wait: float = 120.0
    log_page_size: int | None = None
    started_by: str = "ecskit"


@dataclass(frozen=True)
class ContainerState:
    """A container of the task as ECS last reported it."""

    name: str
    last_status: str
    exit_code: int | None
    reason: str | None
    essential: bool


@dataclass(frozen=True)
class TaskResult:
    """What happened to the task; ``exit_code`` is what ``ecskit run`` exits with.

    ``outcome`` is one of ``exited``, ``not_started``, ``timeout``, ``interrupted``,
    ``started`` (``--no-wait``).
    """

    exit_code: int
    outcome: str
    cluster: str
    task_definition: str
    container: str
    message: str
    task_arn: str | None = None
    last_status: str | None = None
    container_exit_code: int | None = None
    stop_code: str | None = None
    stopped_reason: str | None = None
    containers: tuple[ContainerState, ...] = ()
    failures: tuple[str, ...] = ()
    log_group: str | None = None
    log_stream: str | None = None
    log_lines: int = 0
    task_stopped_by_ecskit: bool = False
    elapsed_seconds: float = 0.0

    @property
    def task_id(self) -> str | None:
        """The task's id (last part of its ARN)."""
        return self.task_arn.rsplit("/", 1)[-1] if self.task_arn else None


def parse_env(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Parse ``KEY=VALUE`` strings (``--env``); the value may be empty or contain ``=``."""
    out: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or key != key.strip():
            raise UsageError(f"--env {pair!r}: expected KEY=VALUE, e.g. --env LOG_LEVEL=debug")
        out.append((key, value))
    return tuple(out)


def parse_command(words: Sequence[str] | None) -> tuple[str, ...] | None:
    """``--command`` words; a single word containing spaces is split like a shell would."""
    if not words:
        return None
    if len(words) == 1 and " " in words[0]:
        try:
            return tuple(shlex.split(words[0]))
        except ValueError as exc:
            raise UsageError(f"--command {words[0]!r}: {exc}; quote it as a shell would") from None
    return tuple(words)


@dataclass
class _Run:
    """Mutable state of one run (kept off the public result)."""

    options: RunOptions
    clients: Clients
    clock: Clock
    on_log: Callable[[LogEvent], None]
    on_progress: Callable[[str], None]
    container: str = ""
    task_definition_arn: str = ""
    task_arn: str = ""
    cursor: LogCursor | None = None
    task: Mapping[str, Any] = field(default_factory=dict)
    started: float = 0.0

    def pump_logs(self) -> int:
        """Deliver the watched stream's new lines; returns how many."""
        if self.cursor is None:
            return 0
        count = 0
        for event in iter_new_events(
            self.clients.logs, self.cursor, page_size=self.options.log_page_size
        ):
            self.on_log(event)
            count += 1
        return count

    def describe(self) -> Mapping[str, Any]:
        response = self.clients.ecs.describe_tasks(
            cluster=self.options.cluster, tasks=[self.task_arn]
        )
        tasks = response.get("tasks", [])
        if tasks:
            self.task = tasks[0]
        return self.task

    def stop(self, reason: str) -> None:
        self.clients.ecs.stop_task(cluster=self.options.cluster, task=self.task_arn, reason=reason)


def _not_found_cluster(cluster: str) -> NotFoundError:
    return NotFoundError(
        f"--cluster {cluster!r}: cluster not found; check the name and --region",
        exit_code=EXIT_NOT_STARTED,
    )


def _describe_task_definition(clients: Clients, options: RunOptions) -> Mapping[str, Any]:
    try:
        response = clients.ecs.describe_task_definition(taskDefinition=options.task_definition)
    except Exception as exc:
        if error_code(exc) in {"ClientException", "InvalidParameterException"}:
            raise NotFoundError(
                f"--task-definition {options.task_definition!r}: not found; give FAMILY or "
                "FAMILY:REVISION of a registered task definition",
                exit_code=EXIT_NOT_STARTED,
            ) from None
        raise
    return response["taskDefinition"]


def _service_settings(clients: Clients, options: RunOptions) -> Mapping[str, Any]:
    if not options.service:
        return {}
    try:
        response = clients.ecs.describe_services(
            cluster=options.cluster, services=[options.service]
        )
    except Exception as exc:
        if error_code(exc) == "ClusterNotFoundException":
            raise _not_found_cluster(options.cluster) from None
        raise
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        raise NotFoundError(
            f"--service {options.service!r}: no such service in cluster {options.cluster!r}; "
            "check the name or omit --service and pass --subnets/--security-groups",
            exit_code=EXIT_NOT_STARTED,
        )
    return services[0]


def _choose_container(task_definition: Mapping[str, Any], wanted: str | None) -> str:
    definitions = task_definition.get("containerDefinitions", [])
    names = [str(d.get("name", "")) for d in definitions]
    if wanted:
        if wanted not in names:
            raise UsageError(
                f"--container {wanted!r}: not in task definition "
                f"{task_definition.get('family')}:{task_definition.get('revision')} "
                f"(containers: {', '.join(names)})"
            )
        return wanted
    for definition in definitions:
        if definition.get("essential", True):
            return str(definition.get("name", ""))
    return names[0] if names else ""


def build_run_task_request(
    options: RunOptions,
    task_definition: Mapping[str, Any],
    service: Mapping[str, Any],
    container: str,
) -> dict[str, Any]:
    """The RunTask parameters (pure: no AWS calls)."""
    if options.launch_type and options.capacity_provider:
        raise UsageError(
            f"--launch-type {options.launch_type!r} conflicts with --capacity-provider "
            f"{options.capacity_provider!r}; pass only one of them"
        )
    request: dict[str, Any] = {
        "cluster": options.cluster,
        "taskDefinition": options.task_definition,
        "count": 1,
        "startedBy": options.started_by,
    }
    if options.launch_type:
        request["launchType"] = options.launch_type
    elif options.capacity_provider:
        request["capacityProviderStrategy"] = [
            {"capacityProvider": options.capacity_provider, "weight": 1}
        ]
    elif service.get("capacityProviderStrategy"):
        request["capacityProviderStrategy"] = service["capacityProviderStrategy"]
    elif service.get("launchType"):
        request["launchType"] = service["launchType"]
    providers = {p.get("capacityProvider") for p in request.get("capacityProviderStrategy", [])}
    on_fargate = request.get("launchType") == "FARGATE" or (
        "launchType" not in request and bool(providers) and providers <= _FARGATE_PROVIDERS
    )
    if service.get("platformVersion") and on_fargate:
        request["platformVersion"] = service["platformVersion"]

    mode = task_definition.get("networkMode")  # None: not reported; RunTask decides
    flags = [
        flag
        for flag, given in (
            ("--subnets", options.subnets),
            ("--security-groups", options.security_groups),
            ("--assign-public-ip", options.assign_public_ip is not None),
        )
        if given
    ]
    if mode and mode != "awsvpc":
        if flags:
            raise UsageError(
                f"{flags[0]}: task definition {options.task_definition!r} uses the {mode!r} "
                f"network mode, and {', '.join(flags)} apply only to awsvpc; drop them"
            )
        return _with_overrides(request, options, container)  # the service's awsvpc: not ours

    network = dict((service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {})
    if options.subnets:
        network["subnets"] = list(options.subnets)
    if options.security_groups:
        network["securityGroups"] = list(options.security_groups)
    if options.assign_public_ip is not None:
        network["assignPublicIp"] = "ENABLED" if options.assign_public_ip else "DISABLED"
    if network:
        if not network.get("subnets"):
            raise UsageError(
                "--subnets: required with --security-groups/--assign-public-ip unless "
                "--service supplies them"
            )
        request["networkConfiguration"] = {"awsvpcConfiguration": network}
    elif mode == "awsvpc":
        raise UsageError(
            f"--subnets: task definition {options.task_definition!r} uses the awsvpc network "
            "mode; pass --subnets and --security-groups, or --service to copy them"
        )
    return _with_overrides(request, options, container)


def _with_overrides(request: dict[str, Any], options: RunOptions, container: str) -> dict[str, Any]:
    override: dict[str, Any] = {}
    if options.command:
        override["command"] = list(options.command)
    if options.env:
        override["environment"] = [{"name": k, "value": v} for k, v in options.env]
    if override:
        request["overrides"] = {"containerOverrides": [{"name": container, **override}]}
    return request


def _containers(
    task: Mapping[str, Any], task_definition: Mapping[str, Any]
) -> tuple[ContainerState, ...]:
    essential = {
        str(d.get("name")): bool(d.get("essential", True))
        for d in task_definition.get("containerDefinitions", [])
    }
    return tuple(
        ContainerState(
            name=str(c.get("name", "")),
            last_status=str(c.get("lastStatus", "")),
            exit_code=c.get("exitCode"),
            reason=c.get("reason"),
            essential=essential.get(str(c.get("name", "")), True),
        )
        for c in task.get("containers", [])
    )


def run_task(
    clients: Clients,
    options: RunOptions,
    *,
    clock: Clock | None = None,
    on_log: Callable[[LogEvent], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> TaskResult:
    """Run ``options.task_definition`` once on ``options.cluster`` and wait for it.

    Raises :class:`UsageError` (exit 2) for bad options and :class:`NotFoundError` (exit 125)
    for a missing cluster/service/task definition; every other outcome is a
    :class:`TaskResult` whose ``exit_code`` follows the module docstring.
    """
    if options.timeout < 0:
        raise UsageError(f"--timeout {options.timeout:g}: must be >= 0 (0 means no timeout)")
    run = _Run(
        options=options,
        clients=clients,
        clock=clock or SystemClock(),
        on_log=on_log or (lambda _e: None),
        on_progress=on_progress or (lambda _m: None),
    )
    run.started = run.clock.now()
    if options.launch_type and options.capacity_provider:
        build_run_task_request(options, {}, {}, "")  # raises the conflict UsageError
    task_definition = _describe_task_definition(clients, options)
    run.task_definition_arn = str(task_definition.get("taskDefinitionArn", ""))
    run.container = _choose_container(task_definition, options.container)
    service = _service_settings(clients, options)
    request = build_run_task_request(options, task_definition, service, run.container)

    def result(exit_code: int, outcome: str, message: str, **extra: Any) -> TaskResult:
        task = run.task
        containers = _containers(task, task_definition) if task else ()
        watched = next((c for c in containers if c.name == run.container), None)
        return TaskResult(
            exit_code=exit_code,
            outcome=outcome,
            cluster=options.cluster,
            task_definition=run.task_definition_arn or options.task_definition,
            container=run.container,
            message=message,
            task_arn=run.task_arn or None,
            last_status=task.get("lastStatus") if task else None,
            container_exit_code=watched.exit_code if watched else None,
            stop_code=task.get("stopCode") if task else None,
            stopped_reason=task.get("stoppedReason") if task else None,
            containers=containers,
            log_group=run.cursor.target.group if run.cursor else None,
            log_stream=run.cursor.target.stream if run.cursor else None,
            log_lines=run.cursor.lines if run.cursor else 0,
            elapsed_seconds=round(run.clock.now() - run.started, 3),
            **extra,
        )

    try:
        response = clients.ecs.run_task(**request)
    except Exception as exc:
        code = error_code(exc)
        if code == "ClusterNotFoundException":
            raise _not_found_cluster(options.cluster) from None
        if not code or code in {"ThrottlingException", "AccessDeniedException"}:
            raise
        first_line = str(exc).splitlines()[0]
        return result(EXIT_NOT_STARTED, "not_started", f"RunTask refused the task: {first_line}")
    failures = tuple(
        f"{f.get('reason', '?')}: {f.get('detail') or f.get('arn', '')}".rstrip(": ")
        for f in response.get("failures", [])
    )
    tasks = response.get("tasks", [])
    if not tasks:
        return result(
            EXIT_NOT_STARTED,
            "not_started",
            "RunTask started no task: " + ("; ".join(failures) or "no reason given"),
            failures=failures,
        )
    run.task = tasks[0]
    run.task_arn = str(tasks[0].get("taskArn", ""))
    task_id = run.task_arn.rsplit("/", 1)[-1]
    try:  # from here on the task exists: Ctrl-C must stop it
        run.on_progress(f"started task {task_id} ({run.task_definition_arn.rsplit('/', 1)[-1]})")
        if options.logs:
            targets = log_targets(task_definition, task_id, containers=[run.container])
            if targets:
                run.cursor = LogCursor(targets[0])
            else:
                run.on_progress(
                    f"no logs: container {run.container!r} has no awslogs driver with a "
                    "stream prefix"
                )
        if not options.wait:
            return result(0, "started", f"started task {task_id} (not waiting: --no-wait)")
        stopped = _wait(run)
    except KeyboardInterrupt:
        return _interrupted(run, result)
    return _stopped(run, result) if stopped else _timed_out(run, result)


def _stopped(run: _Run, result: Callable[..., TaskResult]) -> TaskResult:
    """The task stopped by itself: drain its last lines, then report its exit code."""
    try:
        _final_drain(run)
    except KeyboardInterrupt:  # the task has stopped already: nothing to stop
        outcome = _exited(run, result)
        return replace(
            outcome,
            exit_code=EXIT_INTERRUPTED,
            outcome="interrupted",
            message=f"interrupted while reading the last log lines; {outcome.message}",
        )
    return _exited(run, result)


def _wait(run: _Run) -> bool:
    """Poll until the task has stopped (True) or the timeout passed (False)."""
    options = run.options
    deadline = run.started + options.timeout if options.timeout else None
    interval = options.min_poll_interval
    last_status = ""
    while True:
        task = run.describe()
        status = str(task.get("lastStatus", ""))
        if status != last_status:
            run.on_progress(f"task {status.lower()}")
            last_status = status
            interval = options.min_poll_interval
        else:
            interval = min(interval * 1.5, options.max_poll_interval)
        if status in _STARTED_STATES:
            run.pump_logs()
        if status == "STOPPED":
            return True
        now = run.clock.now()
        if deadline is not None and now >= deadline:
            return False
        pause = interval if deadline is None else min(interval, deadline - now)
        run.clock.sleep(pause)


def _final_drain(run: _Run) -> None:
    """Read the stream to its end, then again after ``drain_grace`` while lines still come."""
    if run.cursor is None:
        return
    new = run.pump_logs()
    if run.task.get("startedAt") is None and not run.cursor.lines:
        return  # never ran: there is nothing to wait for
    give_up = run.clock.now() + run.options.drain_max
    while True:
        run.clock.sleep(run.options.drain_grace)
        new = run.pump_logs()
        if not new or run.clock.now() >= give_up:
            return


def _exited(run: _Run, result: Callable[..., TaskResult]) -> TaskResult:
    task = run.task
    stop_code = task.get("stopCode")
    reason = task.get("stoppedReason") or ""
    watched: Mapping[str, Any] = next(
        (c for c in task.get("containers", []) if c.get("name") == run.container), {}
    )
    exit_code = watched.get("exitCode")
    if exit_code is not None:
        return result(
            int(exit_code),
            "exited",
            f"container {run.container!r} exited with code {exit_code}",
        )
    container_reasons = "; ".join(
        f"{c.get('name')}: {c.get('reason')}" for c in task.get("containers", []) if c.get("reason")
    )
    detail = ", ".join(
        p
        for p in (
            f"stopCode {stop_code}" if stop_code else "",
            f"stoppedReason {reason!r}" if reason else "",
            container_reasons,
        )
        if p
    )
    if stop_code == "TaskFailedToStart" or task.get("startedAt") is None:
        return result(EXIT_NOT_STARTED, "not_started", f"task never started: {detail}")
    return result(
        EXIT_NO_EXIT_CODE,
        "exited",
        f"container {run.container!r} has no exit code: {detail or 'ECS gave no reason'}",
    )


def _timed_out(run: _Run, result: Callable[..., TaskResult]) -> TaskResult:
    options = run.options
    message = f"timed out after {options.timeout:g}s"
    if options.keep_running:
        with contextlib.suppress(KeyboardInterrupt):
            run.pump_logs()
        return result(EXIT_TIMEOUT, "timeout", f"{message}; task left running (--keep-running)")
    run.on_progress(f"{message}; stopping the task")
    try:
        run.stop(f"ecskit: timed out after {options.timeout:g}s")
        give_up = run.clock.now() + options.stop_wait
        while run.describe().get("lastStatus") != "STOPPED" and run.clock.now() < give_up:
            run.pump_logs()
            run.clock.sleep(options.min_poll_interval)
        _final_drain(run)
    except KeyboardInterrupt:
        pass
    return result(EXIT_TIMEOUT, "timeout", f"{message}; task stopped", task_stopped_by_ecskit=True)


def _interrupted(run: _Run, result: Callable[..., TaskResult]) -> TaskResult:
    """Ctrl-C: stop the task (unless ``keep_running``) and return 130, whatever else fails."""
    if run.options.keep_running:
        return result(EXIT_INTERRUPTED, "interrupted", "interrupted; task left running")
    try:
        run.stop("ecskit: interrupted (Ctrl-C)")
    except KeyboardInterrupt:  # a second Ctrl-C while stopping: retry once, then give up
        try:
            run.stop("ecskit: interrupted (Ctrl-C)")
        except (KeyboardInterrupt, Exception) as exc:
            return _not_stopped(run, result, exc)
    except Exception as exc:
        return _not_stopped(run, result, exc)
    with contextlib.suppress(KeyboardInterrupt, Exception):  # best effort: final state, lines
        run.describe()
        run.pump_logs()
    return result(
        EXIT_INTERRUPTED,
        "interrupted",
        "interrupted; task stopped",
        task_stopped_by_ecskit=True,
    )


def _not_stopped(run: _Run, result: Callable[..., TaskResult], exc: BaseException) -> TaskResult:
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return result(
        EXIT_INTERRUPTED,
        "interrupted",
        f"interrupted; could not stop task {run.task_arn} ({why}); stop it with "
        f"aws ecs stop-task --cluster {run.options.cluster} --task {run.task_arn}",
    )
