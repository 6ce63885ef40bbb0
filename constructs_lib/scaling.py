"""Task-count autoscaling of a service: target tracking, SQS backlog step scaling, schedules.

:class:`TaskScaling` says what to scale on; ``service.configure_scaling(TaskScaling(...))``
(see :meth:`EcsServiceBase.configure_scaling`) builds it on the existing
``auto_scale_task_count`` hook, so no ``DesiredCount`` is ever rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling

from constructs_lib._validate import (
    DEFAULT_MAX_TASKS_CEILING,
    check_capacity_range,
    check_cron,
    check_percent,
    check_range,
    check_time_zone,
    whole,
)
from constructs_lib.errors import invalid


@dataclass(frozen=True)
class ScheduledCapacity:
    """A scheduled change of the scaling range, e.g. business-hours minimums.

    :param name: the action's id, unique per service (letters, digits, ``-``).
    :param schedule: ``cron(min hour day-of-month month day-of-week year)``.
    :param min_tasks: the new minimum. :param max_tasks: the new maximum.
    :param time_zone: IANA time zone of ``schedule``. Default: UTC.
    """

    name: str
    schedule: str
    min_tasks: int
    max_tasks: int
    time_zone: str | None = None


@dataclass(frozen=True)
class TaskScaling:
    """How Application Auto Scaling moves a service's task count.

    :param min_tasks: lower bound. :param max_tasks: upper bound (<= ``max_tasks_ceiling``).
    :param max_tasks_ceiling: refuse ``max_tasks`` above this. Default: 100.
    :param target_cpu_percent: target tracking on average CPU, 1-100; None turns it off.
        Default: 60.
    :param target_memory_percent: target tracking on average memory, 1-100. Default: none.
    :param requests_per_target: target tracking on ALB requests per task per minute
        (``WebService`` with a rolling deployment only). Default: none.
    :param queue_backlog_per_task: step scaling on visible messages / running tasks of the
        ``WorkerService``'s queue: +1 task at this backlog, +3 at 4x, -1 at an empty queue.
        Default: none.
    :param scale_in_cooldown: wait after a scale-in. Default: 5 minutes.
    :param scale_out_cooldown: wait after a scale-out. Default: 1 minute.
    :param schedules: scheduled range changes. Default: none.
    """

    min_tasks: int
    max_tasks: int
    max_tasks_ceiling: int = DEFAULT_MAX_TASKS_CEILING
    target_cpu_percent: float | None = 60
    target_memory_percent: float | None = None
    requests_per_target: int | None = None
    queue_backlog_per_task: int | None = None
    scale_in_cooldown: Duration = field(default_factory=lambda: Duration.minutes(5))
    scale_out_cooldown: Duration = field(default_factory=lambda: Duration.minutes(1))
    schedules: tuple[ScheduledCapacity, ...] = ()

    def validate(self, prop: str) -> None:
        """Raise :class:`EcskitValidationError` for a bad value (before any resource exists)."""
        check_capacity_range(prop, self.min_tasks, self.max_tasks, self.max_tasks_ceiling)
        if self.target_cpu_percent is not None:
            check_percent(f"{prop}.target_cpu_percent", self.target_cpu_percent, 1)
        if self.target_memory_percent is not None:
            check_percent(f"{prop}.target_memory_percent", self.target_memory_percent, 1)
        if self.requests_per_target is not None:
            check_range(f"{prop}.requests_per_target", self.requests_per_target, 1)
        if self.queue_backlog_per_task is not None:
            check_range(f"{prop}.queue_backlog_per_task", self.queue_backlog_per_task, 1)
        for name, cooldown in (
            ("scale_in_cooldown", self.scale_in_cooldown),
            ("scale_out_cooldown", self.scale_out_cooldown),
        ):
            check_range(
                f"{prop}.{name} (seconds)",
                whole(f"{prop}.{name}", cooldown.to_seconds(integral=False)),
                0,
                86_400,
            )
        names = [s.name for s in self.schedules]
        if len(set(names)) != len(names):
            raise invalid(f"{prop}.schedules", names, "unique schedule names")
        for i, sched in enumerate(self.schedules):
            where = f"{prop}.schedules[{i}]"
            check_cron(f"{where}.schedule", sched.schedule)
            if sched.time_zone is not None:
                check_time_zone(f"{where}.time_zone", sched.time_zone)
            check_capacity_range(where, sched.min_tasks, sched.max_tasks, self.max_tasks_ceiling)


def schedule_of(expression: str) -> appscaling.Schedule:
    """``cron(a b c d e f)`` -> ``appscaling.Schedule.expression`` (validated before)."""
    return appscaling.Schedule.expression(expression)
