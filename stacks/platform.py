"""``NetworkStack`` and ``PlatformStack``: the VPC, then the registry and the cluster."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.cluster import CapacityShare, ComputeCluster, MachineImageKind
from constructs_lib.image_repository import ImageRepository
from constructs_lib.network import Network
from stacks.config import LOG_RETENTION_DAYS, EnvironmentConfig

_INSIGHTS = {
    "enhanced": ecs.ContainerInsights.ENHANCED,
    "enabled": ecs.ContainerInsights.ENABLED,
    "disabled": ecs.ContainerInsights.DISABLED,
}


_RETENTION_NAMES = (
    "ONE_DAY", "THREE_DAYS", "FIVE_DAYS", "ONE_WEEK", "TWO_WEEKS", "ONE_MONTH", "TWO_MONTHS",
    "THREE_MONTHS", "FOUR_MONTHS", "FIVE_MONTHS", "SIX_MONTHS", "ONE_YEAR", "THIRTEEN_MONTHS",
    "EIGHTEEN_MONTHS", "TWO_YEARS", "THREE_YEARS", "FIVE_YEARS", "SIX_YEARS", "SEVEN_YEARS",
    "EIGHT_YEARS", "NINE_YEARS", "TEN_YEARS",
)  # fmt: skip


def retention(days: int) -> logs.RetentionDays:
    """The CDK enum member for a retention in days (one of ``config.LOG_RETENTION_DAYS``)."""
    by_days = dict(zip(LOG_RETENTION_DAYS, _RETENTION_NAMES, strict=True))
    return getattr(logs.RetentionDays, by_days[days])  # type: ignore[no-any-return]


def removal_policy(name: str) -> RemovalPolicy:
    return RemovalPolicy.DESTROY if name == "destroy" else RemovalPolicy.RETAIN


class NetworkStack(Stack):
    """The environment's VPC (``Network``); outputs the VPC id."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        net = config.network
        self.network = Network(
            self,
            "Network",
            cidr=net.cidr,
            availability_zones=config.zones,
            nat_gateways=net.nat_gateways,
            public_subnet_mask=net.public_subnet_mask,
            private_subnet_mask=net.private_subnet_mask,
            isolated_subnets=net.isolated_subnets,
            isolated_subnet_mask=net.isolated_subnet_mask,
            flow_logs=net.flow_logs,
            flow_log_retention=retention(net.flow_log_retention_days),
            endpoints=net.endpoints,
            removal_policy=removal_policy(config.registry.removal_policy),
        )
        CfnOutput(self, "VpcId", value=self.network.vpc.vpc_id, description="VPC id")


class PlatformStack(Stack):
    """The ECR repository (``ImageRepository``) and ECS cluster (``ComputeCluster``) with its
    capacity providers; outputs the cluster name and repository URI."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        reg = config.registry
        self.repository = ImageRepository(
            self,
            "Repository",
            repository_name=reg.repository_name,
            scan_on_push=reg.scan_on_push,
            immutable_tags=reg.immutable_tags,
            untagged_image_expiry=Duration.days(reg.untagged_expiry_days),
            max_image_count=reg.max_image_count,
            encryption=(
                ecr.RepositoryEncryption.KMS
                if reg.encryption == "KMS"
                else ecr.RepositoryEncryption.AES_256
            ),
            removal_policy=removal_policy(reg.removal_policy),
            pull_account_ids=reg.pull_account_ids,
        )
        cfg = config.cluster
        self.cluster = ComputeCluster(
            self,
            "Cluster",
            vpc=network.vpc,
            cluster_name=cfg.cluster_name,
            container_insights=_INSIGHTS[cfg.container_insights],
            enable_fargate=cfg.enable_fargate,
        )
        for cap in cfg.ec2_capacity:
            self.cluster.add_ec2_capacity(
                cap.name,
                instance_types=cap.instance_types,
                min_capacity=cap.min_capacity,
                max_capacity=cap.max_capacity,
                on_demand_base_capacity=cap.on_demand_base_capacity,
                on_demand_percentage_above_base=cap.on_demand_percentage_above_base,
                machine_image=MachineImageKind(cap.machine_image),
                target_capacity_percent=cap.target_capacity_percent,
                managed_termination_protection=cap.managed_termination_protection,
                root_volume_size_gib=cap.root_volume_size_gib,
                container_stop_timeout=Duration.seconds(cap.container_stop_timeout_seconds),
                image_pull_behavior=cap.image_pull_behavior,
                instance_tags=config.tags,
                vpc_subnets=network.public_subnets if cap.public_ip else network.private_subnets,
                associate_public_ip_address=cap.public_ip,
            )
        self.cluster.set_default_capacity_provider_strategy(
            [
                CapacityShare(s.provider, s.weight, s.base)
                for s in cfg.default_capacity_provider_strategy
            ]
        )
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name, description="ECS cluster")
        CfnOutput(
            self,
            "RepositoryUri",
            value=self.repository.repository_uri,
            description="ECR repository URI (docker push target)",
        )
