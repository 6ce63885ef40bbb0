"""Legacy: ``ClassicLoadBalancedService``, an EC2 service behind a Classic Load Balancer.

Kept for workloads that cannot move yet. Prefer ``WebService`` (ALB) or ``NetworkService``
(NLB): a Classic Load Balancer needs ``bridge`` networking with a fixed host port (one task per
instance per port), has no deployment circuit breaker, no Availability Zone rebalancing and no
blue/green.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancing as elb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._service_base import EcsServiceBase, resolve_capacity
from constructs_lib._validate import Architecture, check_count, check_port, check_range
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.errors import invalid
from constructs_lib.task import ContainerSpec, ContainerTaskDefinition
from constructs_lib.web_service import ingress_peers


class ClassicLoadBalancedService(EcsServiceBase):
    """**Legacy.** An EC2 service registered with a Classic Load Balancer (HTTP listener).

    The container's port is published on the same host port (``bridge`` networking), so each
    instance runs at most one task; deployments therefore stop tasks before starting new ones
    (``min_healthy_percent`` 50, ``max_healthy_percent`` 100 by default). The load balancer
    admits only ``listener_port`` from ``ingress_cidrs``. ECS does not support the deployment
    circuit breaker behind a Classic Load Balancer; it is rendered disabled.

    Attributes: ``service``, ``task_definition``, ``container``, ``log_group``,
    ``load_balancer``, ``connections``.
    """

    _KIND = "ClassicLoadBalancedService"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        capacity: str,
        cpu: int = 256,
        memory_mib: int = 512,
        cpu_architecture: Architecture = "x86_64",
        desired_count: int | None = None,
        listener_port: int = 80,
        internet_facing: bool = True,
        ingress_cidrs: Sequence[str] | None = None,
        health_check_path: str = "/",
        min_healthy_percent: int = 50,
        max_healthy_percent: int = 100,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the task definition, the service and the Classic Load Balancer.

        :param capacity: the EC2 capacity of the cluster to run on (Fargate cannot use a
            Classic Load Balancer).
        :param listener_port: the load balancer's HTTP port. Default: 80.
        :param internet_facing: Default: True.
        :param ingress_cidrs: who may connect. Default: ``0.0.0.0/0`` when internet-facing,
            else the VPC CIDR.
        :param health_check_path: HTTP health check path on the host port. Default: ``/``.
        :param min_healthy_percent: Default: 50. :param max_healthy_percent: Default: 100.
        Other props as ``WebService``.
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        if capacity not in cluster.ec2_capacities:
            raise invalid(
                f"{kind}.capacity",
                capacity,
                f"one of the cluster's EC2 capacities {list(cluster.ec2_capacities)} (Fargate "
                "cannot register with a Classic Load Balancer)",
            )
        if container.port is None or container.protocol != "tcp":
            raise invalid(f"{kind}.container.port", container.port, "a TCP container port")
        check_port(f"{kind}.listener_port", listener_port)
        check_count(f"{kind}.desired_count", desired_count)
        check_range(f"{kind}.min_healthy_percent", min_healthy_percent, 0, 100)
        check_range(f"{kind}.max_healthy_percent", max_healthy_percent, 100, 200)
        if not health_check_path.startswith("/"):
            raise invalid(f"{kind}.health_check_path", health_check_path, "a path starting with /")
        strategy, _ = resolve_capacity(kind, cluster, [CapacityShare(capacity)], cpu_architecture)
        vpc = cluster.cluster.vpc
        peers = ingress_peers(
            f"{kind}.ingress",
            list(ingress_cidrs)
            if ingress_cidrs is not None
            else (["0.0.0.0/0"] if internet_facing else [vpc.vpc_cidr_block]),
            (),
        )
        self.cluster = cluster
        self.fargate = False
        self.desired_count = desired_count
        self.task = ContainerTaskDefinition(
            self,
            "TaskDefinition",
            container=container,
            fargate=False,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=cpu_architecture,
            network_mode=ecs.NetworkMode.BRIDGE,
            # A Classic Load Balancer forwards to a fixed instance port.
            static_host_ports=True,
            task_role=task_role,
            execution_role=execution_role,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
            prop_prefix=kind,
        )
        self.service = ecs.Ec2Service(
            self,
            "Service",
            cluster=cluster.cluster,
            task_definition=self.task.task_definition,
            desired_count=desired_count,
            capacity_provider_strategies=strategy,
            min_healthy_percent=min_healthy_percent,
            max_healthy_percent=max_healthy_percent,
            # Not supported behind a Classic Load Balancer; rendered off explicitly.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=False, rollback=False),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        """The ECS service."""
        self.service.node.add_dependency(cluster.cluster)
        self.load_balancer = elb.LoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            subnet_selection=(
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC) if internet_facing else None
            ),
            listeners=[
                elb.LoadBalancerListener(
                    external_port=listener_port,
                    internal_port=container.port,
                    allow_connections_from=[peer for peer, _ in peers],
                )
            ],
            health_check=elb.HealthCheck(
                port=container.port,
                protocol=elb.LoadBalancingProtocol.HTTP,
                path=health_check_path,
                interval=Duration.seconds(15),
            ),
        )
        """The Classic Load Balancer."""
        self.load_balancer.add_target(self.service)
