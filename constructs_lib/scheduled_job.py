"""``ScheduledJob``: an EventBridge Scheduler schedule that runs a task (cron or rate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, TimeZone, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib._service_base import create_task_definition, resolve_placement
from constructs_lib._validate import (
    Architecture,
    check_range,
    check_schedule_expression,
    whole,
)
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.errors import invalid
from constructs_lib.task import ContainerSpec
from constructs_lib.worker_service import secure_queue


@jsii.implements(ec2.IConnectable)
class ScheduledJob(Construct):
    """Run a task on a schedule with EventBridge Scheduler.

    ``schedule`` is a ``rate(...)`` or six-field ``cron(...)`` expression, evaluated in
    ``time_zone``. When RunTask fails (no capacity, throttling), Scheduler retries
    ``retry_attempts`` times within ``max_event_age``, then sends the event to the dead-letter
    queue (created unless given), so a missed run is visible. A task that starts and then
    exits non-zero is not retried: that is the job's own business (see ``ecskit run`` for
    one-off runs). The tasks get a security group that admits nothing.

    Attributes: ``schedule``, ``task_definition``, ``container``, ``log_group``,
    ``dead_letter_queue``, ``security_group``, ``connections``.
    """

    _KIND = "ScheduledJob"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        schedule: str,
        sidecars: Sequence[ContainerSpec] = (),
        cpu: int = 256,
        memory_mib: int = 512,
        cpu_architecture: Architecture = "x86_64",
        capacity: Sequence[CapacityShare] | None = None,
        time_zone: str | None = None,
        enabled: bool = True,
        description: str | None = None,
        task_count: int = 1,
        retry_attempts: int = 3,
        max_event_age: Duration | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool = False,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        ephemeral_storage_gib: int | None = None,
        enable_execute_command: bool = False,
    ) -> None:
        """Create the task definition, the schedule and its dead-letter queue.

        :param cluster: the :class:`ComputeCluster` to run in.
        :param container: the job's main container.
        :param schedule: e.g. ``cron(0 3 * * ? *)`` (03:00 every day) or ``rate(1 hour)``.
        :param capacity: capacity provider strategy. Default: the cluster's default strategy.
        :param time_zone: IANA time zone of a cron expression, e.g. ``Europe/Paris``.
            Default: UTC.
        :param enabled: Default: True.
        :param description: Default: none.
        :param task_count: tasks per run, 1-10. Default: 1.
        :param retry_attempts: retries of a failed RunTask, 0-185. Default: 3.
        :param max_event_age: give up retrying after, 60 s-24 h. Default: 1 hour.
        :param dead_letter_queue: where failed runs go. Default: a new encrypted queue
            (14 days retention); cdk-nag's SQS3 does not recognise a schedule's dead-letter
            queue (acknowledged in the ecskit app, ``stacks/compliance.py``).
        :param vpc_subnets: where the task goes. Default: the VPC's private subnets (public
            subnets with ``assign_public_ip``).
        :param assign_public_ip: Fargate tasks get a public IP (public subnets of a VPC
            without NAT or endpoints). Default: False.
        :param enable_execute_command: allow ECS Exec into the job's tasks (the task role gets
            the SSM messages permissions). Default: False.
        Other props as ``WebService``.
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        if not Token.is_unresolved(schedule):
            check_schedule_expression(f"{kind}.schedule", schedule)
        check_range(f"{kind}.task_count", task_count, 1, 10)
        check_range(f"{kind}.retry_attempts", retry_attempts, 0, 185)
        age = max_event_age or Duration.hours(1)
        check_range(
            f"{kind}.max_event_age (seconds)",
            whole(f"{kind}.max_event_age", age.to_seconds(integral=False)),
            60,
            86_400,
        )
        strategy, fargate = resolve_placement(
            kind, cluster, capacity, cpu_architecture, assign_public_ip
        )
        if (
            assign_public_ip
            and vpc_subnets is not None
            and vpc_subnets.subnet_type != ec2.SubnetType.PUBLIC
        ):
            raise invalid(
                f"{kind}.vpc_subnets",
                vpc_subnets,
                "SubnetSelection(subnet_type=PUBLIC) with assign_public_ip",
            )
        vpc = cluster.cluster.vpc
        if vpc_subnets is None:
            vpc_subnets = (
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
                if assign_public_ip
                else ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets)
            )
        self.cluster = cluster
        self.task = create_task_definition(
            self,
            kind,
            fargate=fargate,
            container=container,
            sidecars=sidecars,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=cpu_architecture,
            ephemeral_storage_gib=ephemeral_storage_gib,
            task_role=task_role,
            execution_role=execution_role,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
        )
        """The task definition and its log group."""
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Scheduled job tasks (no inbound)",
            allow_all_outbound=True,
        )
        """The tasks' security group."""
        self.dead_letter_queue: sqs.IQueue = dead_letter_queue or secure_queue(
            self, "DeadLetterQueue", retention=Duration.days(14)
        )
        """Where runs that could not be started end up."""
        common: dict[str, Any] = {
            "task_definition": self.task.task_definition,
            "capacity_provider_strategies": strategy,
            "vpc_subnets": vpc_subnets,
            "security_groups": [self.security_group],
            "task_count": task_count,
            "propagate_tags": True,
            "enable_ecs_managed_tags": True,
            "dead_letter_queue": self.dead_letter_queue,
            "enable_execute_command": enable_execute_command or None,
            "retry_attempts": retry_attempts,
            "max_event_age": age,
        }
        if enable_execute_command:
            self.task.task_definition.add_to_task_role_policy(
                iam.PolicyStatement(
                    actions=[
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    resources=["*"],  # these actions have no resource-level permissions
                )
            )
        target: scheduler.IScheduleTarget = (
            targets.EcsRunFargateTask(
                cluster.cluster, assign_public_ip=assign_public_ip or None, **common
            )
            if fargate
            else targets.EcsRunEc2Task(cluster.cluster, **common)
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.expression(
                schedule, TimeZone.of(time_zone) if time_zone else None
            ),
            target=target,
            enabled=enabled,
            description=description,
        )
        """The EventBridge Scheduler schedule."""

    @property
    def connections(self) -> ec2.Connections:
        return self.security_group.connections

    @property
    def task_definition(self) -> ecs.TaskDefinition:
        return self.task.task_definition

    @property
    def container(self) -> ecs.ContainerDefinition:
        """The main container."""
        return self.task.container

    @property
    def log_group(self) -> logs.ILogGroup:
        return self.task.log_group
