"""``ecskit logs``: read a task's or a service's CloudWatch logs (awslogs driver).

Stream names follow the awslogs driver: ``<awslogs-stream-prefix>/<container>/<task-id>``.
One task's stream is read with ``GetLogEvents(startFromHead=True)`` page by page until
``nextForwardToken`` comes back unchanged (CloudWatch's end-of-stream signal), so a drain is
complete, in order and without duplicates. Several streams (a service) are read with
``FilterLogEvents`` over the exact stream names.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from constructs_lib.runtime.aws import (
    DESCRIBE_TASKS_BATCH,
    Clients,
    Clock,
    SystemClock,
    batched,
    error_code,
)
from constructs_lib.runtime.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "LogCursor",
    "LogEvent",
    "LogTarget",
    "LogsOptions",
    "fetch_logs",
    "follow_logs",
    "iter_new_events",
    "log_targets",
    "parse_duration",
    "read_new_events",
]

_FILTER_STREAMS_MAX = 100  # FilterLogEvents accepts at most 100 logStreamNames.


@dataclass(frozen=True)
class LogTarget:
    """One container's CloudWatch log stream."""

    group: str
    stream: str
    container: str


@dataclass(frozen=True)
class LogEvent:
    """One log line: ``timestamp`` in milliseconds since the epoch."""

    timestamp: int
    message: str
    container: str = ""
    stream: str = ""


@dataclass
class LogCursor:
    """Where reading one stream stopped: pass it again to get only the newer events.

    ``next_token`` is the GetLogEvents token of the current page (``None``: the stream's
    head), ``skip`` how many of that page's events were handed out already, ``lines`` how
    many events were handed out in all.
    """

    target: LogTarget
    next_token: str | None = None
    skip: int = 0
    lines: int = 0


@dataclass(frozen=True)
class LogsOptions:
    """Options of ``ecskit logs``.

    Exactly one of ``service`` and ``task`` is required. ``since_seconds`` (default 600, i.e.
    ``--since 10m``) limits how far back to read. ``follow`` (default off) keeps reading every
    ``poll_interval`` seconds (default 2) until interrupted (or, for ``task``, until it stops).
    """

    cluster: str
    service: str | None = None
    task: str | None = None
    container: str | None = None
    since_seconds: float = 600.0
    follow: bool = False
    poll_interval: float = 2.0
    page_size: int | None = None


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, flag: str = "--since") -> float:
    """Parse ``30s``, ``10m``, ``2h``, ``1d`` or plain seconds into seconds."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"{flag} {text!r}: expected a duration such as 30s, 10m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def log_targets(
    task_definition: Mapping[str, Any], task_id: str, *, containers: Iterable[str] | None = None
) -> list[LogTarget]:
    """The awslogs streams of ``task_id``'s containers (all, or only ``containers``).

    Containers without the awslogs driver or without ``awslogs-stream-prefix`` are skipped:
    their stream name cannot be derived.
    """
    wanted = set(containers) if containers is not None else None
    targets: list[LogTarget] = []
    for definition in task_definition.get("containerDefinitions", []):
        name = str(definition.get("name", ""))
        if wanted is not None and name not in wanted:
            continue
        config = definition.get("logConfiguration") or {}
        options = config.get("options") or {}
        group = options.get("awslogs-group")
        prefix = options.get("awslogs-stream-prefix")
        if config.get("logDriver") != "awslogs" or not group or not prefix:
            continue
        targets.append(LogTarget(group=group, stream=f"{prefix}/{name}/{task_id}", container=name))
    return targets


def iter_new_events(
    logs: CloudWatchLogsClient, cursor: LogCursor, *, page_size: int | None = None
) -> Iterator[LogEvent]:
    """Yield every event after ``cursor`` to the current end of its stream, advancing it.

    Pages with ``GetLogEvents(startFromHead=True)`` until ``nextForwardToken`` repeats. The
    cursor moves with every event handed out, so when a read fails or the consumer stops
    (an error, Ctrl-C) part way through a page, the next call resumes right after the last
    event handed out: nothing is lost or repeated. A stream that does not exist yet yields
    nothing (the task may not have logged yet).
    """
    while True:
        kwargs: dict[str, Any] = {
            "logGroupName": cursor.target.group,
            "logStreamName": cursor.target.stream,
            "startFromHead": True,
        }
        if cursor.next_token:
            kwargs["nextToken"] = cursor.next_token
        if page_size:
            kwargs["limit"] = page_size
        try:
            response = logs.get_log_events(**kwargs)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return
            raise
        page = response.get("events", [])
        for index in range(cursor.skip, len(page)):
            raw = page[index]
            cursor.skip = index + 1
            cursor.lines += 1
            yield LogEvent(
                timestamp=int(raw.get("timestamp", 0)),
                message=str(raw.get("message", "")),
                container=cursor.target.container,
                stream=cursor.target.stream,
            )
        token = response.get("nextForwardToken")
        if token is None or token == cursor.next_token:
            return  # the end: the same token again returns this page's events plus new ones
        cursor.next_token = token
        cursor.skip = 0


def read_new_events(
    logs: CloudWatchLogsClient, cursor: LogCursor, *, page_size: int | None = None
) -> list[LogEvent]:
    """:func:`iter_new_events` as a list: every event after ``cursor``, advancing it."""
    return list(iter_new_events(logs, cursor, page_size=page_size))


def _task_targets(
    clients: Clients,
    cluster: str,
    task_ids: Sequence[str],
    container: str | None,
    *,
    strict: bool = True,
) -> tuple[list[LogTarget], dict[str, str]]:
    """Log targets of the given tasks and their ``lastStatus`` by task id.

    ``strict``: a task ECS does not know is an error (``--task``); otherwise (a service's
    tasks, listed a moment ago) it is skipped: stopped tasks expire.
    """
    targets: list[LogTarget] = []
    statuses: dict[str, str] = {}
    definitions: dict[str, Mapping[str, Any]] = {}
    for batch in batched(list(task_ids), DESCRIBE_TASKS_BATCH):
        try:
            response = clients.ecs.describe_tasks(cluster=cluster, tasks=batch)
        except Exception as exc:
            if error_code(exc) == "ClusterNotFoundException":
                raise NotFoundError(
                    f"--cluster {cluster!r}: cluster not found; check the name and --region"
                ) from None
            raise
        for task in response.get("tasks", []):
            arn = task.get("taskDefinitionArn", "")
            if arn not in definitions:
                definitions[arn] = clients.ecs.describe_task_definition(taskDefinition=arn)[
                    "taskDefinition"
                ]
            task_id = task.get("taskArn", "").rsplit("/", 1)[-1]
            statuses[task_id] = task.get("lastStatus", "")
            wanted = [container] if container else None
            targets.extend(log_targets(definitions[arn], task_id, containers=wanted))
        for failure in response.get("failures", []) if strict else ():
            raise NotFoundError(
                f"--task {failure.get('arn', '?')!r}: {failure.get('reason', 'not found')}; "
                "check the task id and --cluster"
            )
    return targets, statuses


def _service_task_ids(clients: Clients, cluster: str, service: str) -> list[str]:
    ids: list[str] = []
    for desired in ("RUNNING", "STOPPED"):
        token: str | None = None
        try:
            while True:  # ListTasks pages hold at most 100 tasks; the last has no nextToken
                kwargs: dict[str, Any] = {
                    "cluster": cluster,
                    "serviceName": service,
                    "desiredStatus": desired,
                }
                if token:
                    kwargs["nextToken"] = token
                response = clients.ecs.list_tasks(**kwargs)
                ids.extend(arn.rsplit("/", 1)[-1] for arn in response.get("taskArns", []))
                token = response.get("nextToken")
                if not token:
                    break
        except Exception as exc:
            if error_code(exc) == "ClusterNotFoundException":
                raise NotFoundError(
                    f"--cluster {cluster!r}: cluster not found; check the name and --region"
                ) from None
            if error_code(exc) == "ServiceNotFoundException":
                raise NotFoundError(
                    f"SERVICE {service!r}: no such service in cluster {cluster!r}"
                ) from None
            raise
    return list(dict.fromkeys(ids))


_FOLLOW_OVERLAP_MS = 60_000
"""``follow`` re-reads this much before the newest event seen: CloudWatch may ingest an event
later than one with a newer timestamp (several streams, agent buffering). Events are
de-duplicated by id, so the overlap costs reads, never repeated lines."""


@dataclass
class _FilterState:
    start_ms: int
    seen: dict[str, int] = field(default_factory=dict)  # event id -> timestamp
    newest_ms: int = 0

    def advance(self) -> None:
        """Move ``start_ms`` up to the overlap window and forget ids older than it."""
        floor = self.newest_ms - _FOLLOW_OVERLAP_MS
        if floor > self.start_ms:
            self.start_ms = floor
            self.seen = {k: t for k, t in self.seen.items() if t >= floor}


def _filter_pages(
    clients: Clients, group: str, names: Sequence[str], start_ms: int
) -> Iterator[Mapping[str, Any]]:
    """Raw events of ``names`` in ``group`` from ``start_ms``, following ``nextToken``.

    ``FilterLogEvents`` fails with ResourceNotFoundException when any one of several named
    streams does not exist yet (a task that has not logged): then each stream is read alone,
    and a missing stream (or group) yields nothing.
    """
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamNames": list(names),
            "startTime": start_ms,
        }
        if token:
            kwargs["nextToken"] = token
        try:
            response = clients.logs.filter_log_events(**kwargs)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            if len(names) > 1 and token is None:
                for name in names:
                    yield from _filter_pages(clients, group, [name], start_ms)
            return
        yield from response.get("events", [])
        token = response.get("nextToken")
        if not token:
            return


def _filter_events(
    clients: Clients, targets: Sequence[LogTarget], state: _FilterState
) -> list[LogEvent]:
    """New events of several streams (``FilterLogEvents``), de-duplicated by event id."""
    by_stream = {t.stream: t for t in targets}
    groups: dict[str, list[str]] = {}
    for each in targets:
        groups.setdefault(each.group, []).append(each.stream)
    out: list[LogEvent] = []
    for group, streams in groups.items():
        for names in batched(streams, _FILTER_STREAMS_MAX):
            for raw in _filter_pages(clients, group, names, state.start_ms):
                event_id = str(raw.get("eventId", ""))
                timestamp = int(raw.get("timestamp", 0))
                if event_id in state.seen:
                    continue
                state.seen[event_id] = timestamp
                state.newest_ms = max(state.newest_ms, timestamp)
                stream = str(raw.get("logStreamName", ""))
                target = by_stream.get(stream)
                out.append(
                    LogEvent(
                        timestamp=timestamp,
                        message=str(raw.get("message", "")),
                        container=target.container if target else "",
                        stream=stream,
                    )
                )
    out.sort(key=lambda e: e.timestamp)
    return out


def fetch_logs(
    clients: Clients, options: LogsOptions, *, now_ms: Callable[[], int] | None = None
) -> list[LogEvent]:
    """Return the log events of ``options.task`` or ``options.service`` since ``since_seconds``.

    ``now_ms`` (default: wall clock) is injectable for tests.
    """
    targets = _resolve_targets(clients, options)[0]
    state = _FilterState(start_ms=_since_ms(options, now_ms))
    return _filter_events(clients, targets, state)


def follow_logs(
    clients: Clients,
    options: LogsOptions,
    on_event: Callable[[LogEvent], None],
    *,
    clock: Clock | None = None,
    now_ms: Callable[[], int] | None = None,
) -> int:
    """Deliver events as they arrive; returns the number of events delivered.

    Runs until ``KeyboardInterrupt`` (propagated to the caller), or for ``--task`` until the
    task has stopped and a later read found nothing new (its last lines drained). Each poll
    reads from shortly before the newest event seen, not from ``since_seconds`` again.
    """
    clock = clock or SystemClock()
    state = _FilterState(start_ms=_since_ms(options, now_ms))
    count = 0
    stopped_polls = 0
    while True:
        targets, statuses = _resolve_targets(clients, options)
        events = _filter_events(clients, targets, state)
        for event in events:
            on_event(event)
            count += 1
        state.advance()
        if options.task and statuses and all(s == "STOPPED" for s in statuses.values()):
            stopped_polls += 1
            if stopped_polls > 1 and not events:
                return count
        clock.sleep(options.poll_interval)


def _since_ms(options: LogsOptions, now_ms: Callable[[], int] | None) -> int:
    current = now_ms() if now_ms else int(time.time() * 1000)
    return max(0, current - int(options.since_seconds * 1000))


def _resolve_targets(
    clients: Clients, options: LogsOptions
) -> tuple[list[LogTarget], dict[str, str]]:
    if bool(options.service) == bool(options.task):
        raise UsageError(
            "give exactly one of SERVICE or --task ID, e.g. ecskit logs --cluster C web"
        )
    if options.task:
        return _task_targets(clients, options.cluster, [options.task], options.container)
    assert options.service is not None
    ids = _service_task_ids(clients, options.cluster, options.service)
    if not ids:
        return [], {}
    return _task_targets(clients, options.cluster, ids, options.container, strict=False)
