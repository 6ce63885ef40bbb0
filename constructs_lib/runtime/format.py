"""Pure formatting: human lines, JSON documents and the Markdown step summary."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from constructs_lib._templates import render_template
from constructs_lib.runtime.logs import LogEvent
from constructs_lib.runtime.rollback import RollbackResult
from constructs_lib.runtime.rollout import RolloutResult
from constructs_lib.runtime.run import TaskResult
from constructs_lib.runtime.status import ServiceStatus

__all__ = [
    "error_json",
    "format_log_event",
    "format_rollback",
    "format_rollout",
    "format_status",
    "format_task_result",
    "step_summary",
    "to_json",
]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, TaskResult):
            data["task_id"] = value.task_id
        return data
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def to_json(command: str, result: Any) -> str:
    """One JSON document: ``{"command": ..., "result": ...}`` (odd values as strings)."""
    return json.dumps(
        {"command": command, "result": _plain(result)}, indent=2, sort_keys=True, default=str
    )


def error_json(command: str, message: str, exit_code: int) -> str:
    """The ``--json`` document of a command that failed before it had a result."""
    return json.dumps(
        {"command": command, "error": {"message": message, "exit_code": exit_code}},
        indent=2,
        sort_keys=True,
    )


def format_log_event(event: LogEvent, *, with_container: bool = False) -> str:
    """``2024-05-01T12:00:00.000Z message`` (optionally with ``[container]``)."""
    stamp = datetime.fromtimestamp(event.timestamp / 1000, tz=UTC)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    prefix = f"[{event.container}] " if with_container and event.container else ""
    return f"{text} {prefix}{event.message}"


def format_task_result(result: TaskResult) -> list[str]:
    """Human summary of ``ecskit run``."""
    lines = [f"{result.message} (exit {result.exit_code})"]
    if result.task_arn:
        lines.append(f"task: {result.task_arn}")
    if result.stop_code or result.stopped_reason:
        lines.append(f"stopCode: {result.stop_code or '-'}; stoppedReason: {result.stopped_reason}")
    for c in result.containers:
        role = "essential" if c.essential else "sidecar"
        watched = " (watched)" if c.name == result.container else ""
        reason = f", reason: {c.reason}" if c.reason else ""
        lines.append(f"  {c.name} [{role}]{watched}: {c.last_status} exit={c.exit_code}{reason}")
    lines.extend(f"failure: {f}" for f in result.failures)
    if result.log_stream:
        lines.append(f"logs: {result.log_group} {result.log_stream} ({result.log_lines} lines)")
    return lines


def format_rollout(result: RolloutResult) -> list[str]:
    """Human summary of ``ecskit rollout``."""
    lines = [
        f"rollout {result.outcome} after {result.elapsed_seconds:g}s "
        f"({result.api_calls} API calls, exit {result.exit_code})"
    ]
    for s in result.services:
        lines.append(
            f"  {s.service}: {s.state} {s.running}/{s.desired} running, {s.failed_tasks} failed"
        )
        if s.state != "COMPLETED" and s.rollout_state_reason:
            lines.append(f"    rolloutStateReason: {s.rollout_state_reason}")
        if s.reason:
            lines.append(f"    reason: {s.reason}")
        if s.circuit_breaker:
            lines.append(f"    circuit breaker: {s.circuit_breaker}")
        if s.triggered_alarms:
            lines.append(f"    alarms in ALARM: {', '.join(s.triggered_alarms)}")
        lines.extend(f"    stopped task: {r}" for r in s.stopped_task_reasons)
        if s.state == "FAILED":
            lines.extend(f"    event: {e}" for e in s.events)
    return lines


def format_status(statuses: Sequence[ServiceStatus]) -> list[str]:
    """Human view of ``ecskit status``."""
    lines: list[str] = []
    for s in statuses:
        lines.append(
            f"{s.service} [{s.status}] {s.task_definition}: desired {s.desired}, "
            f"running {s.running}, pending {s.pending}"
        )
        for d in s.deployments:
            lines.append(
                f"  {d.status:<8} {d.id} {d.task_definition} rollout={d.rollout_state or '-'} "
                f"{d.running}/{d.desired} running, {d.pending} pending, {d.failed_tasks} failed"
            )
        lines.extend(f"  alarm {name}: {state}" for name, state in s.alarms)
        lines.extend(f"  event {e}" for e in s.events)
    return lines or ["no services"]


def format_rollback(result: RollbackResult) -> list[str]:
    """Human summary of ``ecskit rollback``."""
    return [
        f"rollback requested for {result.service}: {result.service_deployment_arn} "
        f"(was {result.previous_status}); follow with: ecskit rollout --cluster "
        f"{result.cluster} {result.service}"
    ]


def step_summary(command: str, result: Any) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (``templates/step_summary.md.j2``)."""
    return render_template("step_summary.md.j2", command=command, result=_plain(result))
