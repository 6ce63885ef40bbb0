"""The shared base of the service patterns: task definition, capacity, service, deployment.

The patterns (``WebService``, ``NetworkService``, ``WorkerService``) validate their own props,
then call :meth:`EcsServiceBase._create_service`, then wire their load balancer. Everything
that decides how a service is placed and deployed lives here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, TimeZone, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib import metrics
from constructs_lib._validate import (
    Architecture,
    check_capacity_architecture,
    check_count,
    check_cpu_architecture,
    check_range,
    whole,
)
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.deployment import Deployment, RollingDeployment, check_deployment
from constructs_lib.errors import invalid
from constructs_lib.scaling import TaskScaling, schedule_of
from constructs_lib.task import ContainerSpec, ContainerTaskDefinition


def resolve_capacity(
    owner: str,
    cluster: ComputeCluster,
    capacity: Sequence[CapacityShare] | None,
    cpu_architecture: str,
) -> tuple[list[ecs.CapacityProviderStrategy], bool]:
    """Validate ``capacity`` (default: the cluster's default strategy) against ``cluster`` and
    the task's CPU architecture; return the rendered strategy and whether it is Fargate."""
    check_cpu_architecture(f"{owner}.cpu_architecture", cpu_architecture)
    shares = tuple(capacity) if capacity is not None else cluster.default_capacity_shares
    strategy = cluster.capacity_provider_strategy(shares, prop=f"{owner}.capacity")
    fargate = cluster.is_fargate_strategy(shares)
    if not fargate:
        for share in shares:
            check_capacity_architecture(
                f"{owner}.cpu_architecture",
                cpu_architecture,
                share.provider,
                cluster.ec2_capacities[share.provider].architecture,
            )
    return strategy, fargate


def resolve_placement(
    owner: str,
    cluster: ComputeCluster,
    capacity: Sequence[CapacityShare] | None,
    cpu_architecture: str,
    assign_public_ip: bool,
) -> tuple[list[ecs.CapacityProviderStrategy], bool]:
    """:func:`resolve_capacity`, and refuse ``assign_public_ip`` on EC2 capacity."""
    strategy, fargate = resolve_capacity(owner, cluster, capacity, cpu_architecture)
    if assign_public_ip and not fargate:
        raise invalid(
            f"{owner}.assign_public_ip",
            True,
            "False on EC2 capacity (awsvpc tasks on EC2 get no public IP; the instance "
            "pulls the image)",
        )
    return strategy, fargate


def create_task_definition(
    scope: Construct,
    owner: str,
    *,
    fargate: bool,
    container: ContainerSpec,
    sidecars: Sequence[ContainerSpec],
    cpu: int,
    memory_mib: int,
    cpu_architecture: Architecture,
    ephemeral_storage_gib: int | None,
    task_role: iam.IRole | None,
    execution_role: iam.IRole | None,
    log_retention: logs.RetentionDays,
    log_removal_policy: RemovalPolicy,
) -> ContainerTaskDefinition:
    """The ``TaskDefinition`` child of a service or job (props named ``<owner>.<prop>``)."""
    return ContainerTaskDefinition(
        scope,
        "TaskDefinition",
        container=container,
        sidecars=sidecars,
        fargate=fargate,
        cpu=cpu,
        memory_mib=memory_mib,
        cpu_architecture=cpu_architecture,
        ephemeral_storage_gib=ephemeral_storage_gib,
        task_role=task_role,
        execution_role=execution_role,
        log_retention=log_retention,
        log_removal_policy=log_removal_policy,
        prop_prefix=owner,
    )


@jsii.implements(ec2.IConnectable)
class EcsServiceBase(Construct):
    """Common attributes of the service patterns (see ``WebService`` for the props)."""

    _KIND = "Service"

    def _create_service(
        self,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        sidecars: Sequence[ContainerSpec],
        cpu: int,
        memory_mib: int,
        cpu_architecture: Architecture,
        capacity: Sequence[CapacityShare] | None,
        desired_count: int | None,
        deployment: Deployment | None,
        allow_traffic_shifting: bool,
        vpc_subnets: ec2.SubnetSelection | None,
        assign_public_ip: bool,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        task_role: iam.IRole | None,
        execution_role: iam.IRole | None,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
        enable_execute_command: bool,
        ephemeral_storage_gib: int | None,
        health_check_grace_period: Duration | None,
    ) -> None:
        kind = self._KIND
        self.deployment: Deployment = check_deployment(
            f"{kind}.deployment",
            deployment if deployment is not None else RollingDeployment(),
            allow_traffic_shifting=allow_traffic_shifting,
            owner=kind,
        )
        """The deployment strategy in force."""
        check_count(f"{kind}.desired_count", desired_count)
        strategy, fargate = resolve_placement(
            kind, cluster, capacity, cpu_architecture, assign_public_ip
        )
        if health_check_grace_period is not None:
            check_range(
                f"{kind}.health_check_grace_period (seconds)",
                whole(
                    f"{kind}.health_check_grace_period",
                    health_check_grace_period.to_seconds(integral=False),
                ),
                0,
                2_147_483_647,
            )
        self.cluster = cluster
        """The cluster the service runs in."""
        self.fargate: bool = fargate
        """True when the capacity is Fargate / Fargate Spot, False for EC2 capacity."""
        self.desired_count: int | None = desired_count
        """The rendered DesiredCount, or None (ECS starts 1 task, later deploys keep the count)."""
        self.scaling: TaskScaling | None = None
        """The :class:`TaskScaling` given to :meth:`configure_scaling`, or None."""
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
        """The task definition and its log group (:class:`ContainerTaskDefinition`)."""
        props: dict[str, Any] = {
            "cluster": cluster.cluster,
            "task_definition": self.task.task_definition,
            # None: not rendered, so a deploy never resets a count autoscaling owns
            # (aws-cdk 3919/11299); ECS starts the service with 1 task.
            "desired_count": desired_count,
            "capacity_provider_strategies": strategy,
            "vpc_subnets": vpc_subnets,
            "security_groups": list(security_groups) if security_groups else None,
            "enable_execute_command": enable_execute_command or None,
            "propagate_tags": ecs.PropagatedTagSource.SERVICE,
            "enable_ecs_managed_tags": True,
            "health_check_grace_period": health_check_grace_period,
            **self.deployment.service_props(),
        }
        if isinstance(self.deployment, RollingDeployment):
            props["availability_zone_rebalancing"] = (
                ecs.AvailabilityZoneRebalancing.ENABLED
                if self.deployment.availability_zone_rebalancing
                else ecs.AvailabilityZoneRebalancing.DISABLED
            )
        # One construct id ("Service") for Fargate and EC2, and always a capacity provider
        # strategy (never a launch type): moving between them updates the service in place
        # instead of replacing it (aws-cdk 29826).
        if fargate:
            self.service: ecs.BaseService = ecs.FargateService(
                self, "Service", assign_public_ip=assign_public_ip, **props
            )
        else:
            self.service = ecs.Ec2Service(
                self,
                "Service",
                placement_strategies=[
                    ecs.PlacementStrategy.spread_across(ecs.BuiltInAttributes.AVAILABILITY_ZONE),
                    ecs.PlacementStrategy.packed_by_memory(),
                ],
                **props,
            )
        """The ECS service (attach scaling or alarms here)."""
        # The capacity providers must be associated with the cluster before the service
        # names them in its strategy.
        self.service.node.add_dependency(cluster.cluster)

    # --- attributes ---------------------------------------------------------------------------

    @property
    def connections(self) -> ec2.Connections:
        """The tasks' security groups (``awsvpc``)."""
        return self.service.connections

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

    @property
    def task_role(self) -> iam.IRole:
        return self.task.task_role

    @property
    def service_name(self) -> str:
        return self.service.service_name

    # --- metrics (official names; see constructs_lib.metrics) ---------------------------------

    def metric_cpu_utilization(self) -> cw.Metric:
        """``AWS/ECS`` ``CPUUtilization`` of the service, average, 1 minute."""
        return metrics.ecs_metric(
            "CPUUtilization", self.cluster.cluster.cluster_name, self.service_name
        )

    def metric_memory_utilization(self) -> cw.Metric:
        """``AWS/ECS`` ``MemoryUtilization`` of the service, average, 1 minute."""
        return metrics.ecs_metric(
            "MemoryUtilization", self.cluster.cluster.cluster_name, self.service_name
        )

    def metric_running_task_count(self) -> cw.Metric:
        """``ECS/ContainerInsights`` ``RunningTaskCount``, average, 1 minute."""
        return metrics.container_insights_metric(
            "RunningTaskCount", self.cluster.cluster.cluster_name, self.service_name
        )

    def metric_desired_task_count(self) -> cw.Metric:
        """``ECS/ContainerInsights`` ``DesiredTaskCount`` (moves with scaling activity)."""
        return metrics.container_insights_metric(
            "DesiredTaskCount", self.cluster.cluster.cluster_name, self.service_name
        )

    # --- places to attach scaling and alarms ---------------------------------------------------

    def auto_scale_task_count(self, *, min_tasks: int, max_tasks: int) -> ecs.ScalableTaskCount:
        """Let Application Auto Scaling own the task count between ``min_tasks`` and
        ``max_tasks`` (add policies on the result, e.g. ``scale_on_cpu_utilization``).

        Registering the target moves the running count into the range. Raises when
        ``desired_count`` was set: every deploy would reset the count autoscaling chose.
        """
        kind = self._KIND
        if self.desired_count is not None:
            raise invalid(
                f"{kind}.desired_count",
                self.desired_count,
                "None when autoscaling owns the task count (a rendered DesiredCount resets "
                "it on every deploy); set min_tasks instead",
            )
        check_range(f"{kind}.auto_scale_task_count min_tasks", min_tasks, 0)
        check_range(f"{kind}.auto_scale_task_count max_tasks", max_tasks, max(1, min_tasks))
        return self.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)

    def configure_scaling(self, scaling: TaskScaling) -> ecs.ScalableTaskCount:
        """Hand the task count to Application Auto Scaling as ``scaling`` says: target tracking
        on CPU / memory / ALB requests per target (with cooldowns), step scaling on the queue
        backlog per task, scheduled range changes. Returns the scalable target."""
        kind = self._KIND
        scaling.validate(f"{kind}.scaling")
        if scaling.requests_per_target is not None and self._request_count_target() is None:
            raise invalid(
                f"{kind}.scaling.requests_per_target",
                scaling.requests_per_target,
                "None: request-count scaling needs a WebService with a rolling deployment "
                "(blue/green, canary and linear move traffic to another target group)",
            )
        if scaling.queue_backlog_per_task is not None and self._queue_backlog_metric() is None:
            raise invalid(
                f"{kind}.scaling.queue_backlog_per_task",
                scaling.queue_backlog_per_task,
                "None: backlog scaling needs a WorkerService with queue=True",
            )
        count = self.auto_scale_task_count(min_tasks=scaling.min_tasks, max_tasks=scaling.max_tasks)
        cooldowns: dict[str, Any] = {
            "scale_in_cooldown": scaling.scale_in_cooldown,
            "scale_out_cooldown": scaling.scale_out_cooldown,
        }
        if scaling.target_cpu_percent is not None:
            count.scale_on_cpu_utilization(
                "CpuScaling", target_utilization_percent=scaling.target_cpu_percent, **cooldowns
            )
        if scaling.target_memory_percent is not None:
            count.scale_on_memory_utilization(
                "MemoryScaling",
                target_utilization_percent=scaling.target_memory_percent,
                **cooldowns,
            )
        target_group = self._request_count_target()
        if scaling.requests_per_target is not None and target_group is not None:
            count.scale_on_request_count(
                "RequestCountScaling",
                requests_per_target=scaling.requests_per_target,
                target_group=target_group,
                **cooldowns,
            )
        backlog = self._queue_backlog_metric()
        if scaling.queue_backlog_per_task is not None and backlog is not None:
            per_task = scaling.queue_backlog_per_task
            count.scale_on_metric(
                "QueueBacklogScaling",
                metric=backlog,
                scaling_steps=[
                    appscaling.ScalingInterval(upper=0, change=-1),
                    appscaling.ScalingInterval(lower=per_task, change=1),
                    appscaling.ScalingInterval(lower=per_task * 4, change=3),
                ],
                adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                cooldown=scaling.scale_out_cooldown,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            )
        for sched in scaling.schedules:
            count.scale_on_schedule(
                f"Schedule-{sched.name}",
                schedule=schedule_of(sched.schedule),
                min_capacity=sched.min_tasks,
                max_capacity=sched.max_tasks,
                time_zone=TimeZone.of(sched.time_zone) if sched.time_zone else None,
            )
        self.scaling = scaling
        return count

    def _request_count_target(self) -> elbv2.ApplicationTargetGroup | None:
        """The target group request-count scaling tracks (WebService, rolling), or None."""
        return None

    def _queue_backlog_metric(self) -> cw.IMetric | None:
        """Visible messages per running task (WorkerService with a queue), or None."""
        return None

    def add_deployment_alarms(self, alarm_names: Sequence[str], *, rollback: bool = True) -> None:
        """CloudWatch alarms (by name) that stop a deployment when they fire, and roll it back
        unless ``rollback=False``."""
        if not alarm_names or any(
            not n or (not Token.is_unresolved(n) and not n.strip()) for n in alarm_names
        ):
            raise invalid(f"{self._KIND}.add_deployment_alarms", list(alarm_names), "alarm names")
        self.service.enable_deployment_alarms(
            list(alarm_names),
            behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
            if rollback
            else ecs.AlarmBehavior.FAIL_ON_ALARM,
        )
