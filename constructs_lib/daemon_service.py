"""``DaemonService``: one task on every EC2 container instance (agents, log/metric collectors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._service_base import EcsServiceBase
from constructs_lib._validate import (
    Architecture,
    check_capacity_architecture,
    check_cpu_architecture,
    check_range,
)
from constructs_lib.cluster import FARGATE, FARGATE_SPOT, ComputeCluster
from constructs_lib.errors import EcskitValidationError, invalid
from constructs_lib.task import ContainerSpec, ContainerTaskDefinition

DaemonNetworkMode = Literal["bridge", "host", "awsvpc"]
_NETWORK_MODES = {
    "bridge": ecs.NetworkMode.BRIDGE,
    "host": ecs.NetworkMode.HOST,
    "awsvpc": ecs.NetworkMode.AWS_VPC,
}


class DaemonService(EcsServiceBase):
    """One task per EC2 container instance of the cluster (ECS's ``DAEMON`` scheduling).

    Fargate has no instances, so the cluster needs EC2 capacity. ``capacity`` restricts the
    daemon to one EC2 capacity (a placement constraint on its instance types); the CPU
    architecture defaults to that of the capacities and becomes a placement constraint too.
    ECS does not accept a capacity provider strategy for daemons, so the service uses the EC2
    launch type. Deployments replace tasks instance by instance: ``min_healthy_percent``
    (default 50) bounds how many are down at once; the circuit breaker does not apply to
    daemons (it counts against a desired count) and is rendered disabled.

    Attributes: ``service``, ``task_definition``, ``container``, ``log_group``,
    ``connections``.
    """

    _KIND = "DaemonService"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        sidecars: Sequence[ContainerSpec] = (),
        cpu: int = 128,
        memory_mib: int = 256,
        cpu_architecture: Architecture | None = None,
        capacity: str | None = None,
        network_mode: DaemonNetworkMode = "bridge",
        min_healthy_percent: int = 50,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        enable_execute_command: bool = False,
    ) -> None:
        """Create the task definition and the daemon service.

        :param cluster: a :class:`ComputeCluster` with EC2 capacity.
        :param container: the daemon's main container.
        :param cpu: task CPU units reserved on every instance. Default: 128.
        :param memory_mib: task memory reserved on every instance. Default: 256.
        :param cpu_architecture: ``x86_64`` or ``arm64``. Default: the architecture of
            ``capacity``, or of all the cluster's EC2 capacities (they must then agree).
        :param capacity: the name of one EC2 capacity to run on. Default: every instance of
            the cluster (of ``cpu_architecture``).
        :param network_mode: ``bridge``, ``host`` or ``awsvpc`` (an ENI per task: counts
            against the instance's ENI limit). Default: ``bridge``.
        :param min_healthy_percent: share of instances keeping a running daemon during a
            deployment, 0-99. Default: 50.
        Other props as ``WebService``.
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        if not cluster.ec2_capacities:
            raise invalid(
                f"{kind}.cluster",
                cluster.capacity_provider_names,
                "a cluster with EC2 capacity (a daemon runs one task per EC2 instance; Fargate "
                "has no instances): add one with ComputeCluster.add_ec2_capacity",
            )
        if capacity is not None and capacity not in cluster.ec2_capacities:
            raise invalid(
                f"{kind}.capacity",
                capacity,
                f"one of the cluster's EC2 capacities {list(cluster.ec2_capacities)}"
                + (
                    " (a daemon runs one task per EC2 instance; Fargate has no instances)"
                    if capacity in (FARGATE, FARGATE_SPOT)
                    else ""
                ),
            )
        if network_mode not in _NETWORK_MODES:
            raise invalid(f"{kind}.network_mode", network_mode, f"one of {list(_NETWORK_MODES)}")
        check_range(f"{kind}.min_healthy_percent", min_healthy_percent, 0, 99)
        pools = [capacity] if capacity is not None else list(cluster.ec2_capacities)
        archs = {name: cluster.ec2_capacities[name].architecture for name in pools}
        if cpu_architecture is None and len(set(archs.values())) > 1:
            raise invalid(
                f"{kind}.cpu_architecture",
                None,
                f"'x86_64' or 'arm64': the cluster's EC2 capacities mix architectures "
                f"{archs}, and the daemon runs on the matching instances only",
            )
        architecture = check_cpu_architecture(
            f"{kind}.cpu_architecture",
            cpu_architecture if cpu_architecture is not None else next(iter(archs.values())),
        )
        if capacity is not None:
            check_capacity_architecture(
                f"{kind}.cpu_architecture", architecture, capacity, archs[capacity]
            )
        elif architecture not in archs.values():
            raise invalid(
                f"{kind}.cpu_architecture",
                architecture,
                f"the architecture of one of the cluster's EC2 capacities {archs}",
            )

        self.cluster = cluster
        self.fargate = False
        self.desired_count = None
        self.scaling = None
        self.task = ContainerTaskDefinition(
            self,
            "TaskDefinition",
            container=container,
            sidecars=sidecars,
            fargate=False,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=architecture,
            network_mode=_NETWORK_MODES[network_mode],
            task_role=task_role,
            execution_role=execution_role,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
            prop_prefix=kind,
        )
        constraints = [
            ecs.PlacementConstraint.member_of(f"attribute:ecs.cpu-architecture == {architecture}")
        ]
        if capacity is not None:
            types = ", ".join(cluster.ec2_capacities[capacity].instance_types)
            constraints.append(
                ecs.PlacementConstraint.member_of(f"attribute:ecs.instance-type in [{types}]")
            )
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=cluster.cluster,
            task_definition=self.task.task_definition,
            daemon=True,
            min_healthy_percent=min_healthy_percent,
            max_healthy_percent=100,
            # Not applicable to daemons (aws-cdk 38102); rendered off explicitly.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=False, rollback=False),
            placement_constraints=constraints,
            enable_execute_command=enable_execute_command or None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        """The ECS daemon service."""
        self.service.node.add_dependency(cluster.cluster)

    def auto_scale_task_count(self, *, min_tasks: int, max_tasks: int) -> ecs.ScalableTaskCount:
        """Not available: a daemon runs one task per instance; scale the EC2 capacity."""
        raise EcskitValidationError(
            f"{self._KIND}.auto_scale_task_count is not available: a daemon runs one task per "
            f"EC2 instance (asked for {min_tasks}-{max_tasks}); scale the EC2 capacity instead"
        )
