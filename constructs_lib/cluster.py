"""``ComputeCluster``: an ECS cluster with Fargate, Fargate Spot and EC2 capacity providers."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import jsii
from aws_cdk import Aspects, CustomResource, Duration, IAspect, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from constructs_lib._templates import render_template
from constructs_lib._validate import check_range, common_architecture
from constructs_lib.errors import EcskitValidationError, invalid

FARGATE: Final = "FARGATE"
FARGATE_SPOT: Final = "FARGATE_SPOT"
IMAGE_PULL_BEHAVIORS: Final = ("default", "always", "once", "prefer-cached")
_TEARDOWN_HANDLER: Final = Path(__file__).with_name("_teardown_handler.py")


class MachineImageKind(enum.Enum):
    """The ECS-optimised AMI family of an EC2 capacity (resolved from public SSM parameters at
    deploy time, so synth needs no lookup)."""

    AMAZON_LINUX_2023 = "al2023"
    BOTTLEROCKET = "bottlerocket"


@dataclass(frozen=True)
class CapacityShare:
    """One entry of a capacity provider strategy, naming a provider of the cluster.

    :param provider: ``FARGATE``, ``FARGATE_SPOT`` or the name given to
        :meth:`ComputeCluster.add_ec2_capacity`.
    :param weight: relative share of tasks (0-1000). Default: 1.
    :param base: tasks placed here before weights apply (0-100000). Default: 0.
    """

    provider: str
    weight: int = 1
    base: int = 0


class Ec2Capacity(Construct):
    """EC2 capacity for a cluster: launch template, Auto Scaling group and capacity provider.

    Built by :meth:`ComputeCluster.add_ec2_capacity`; see there for the props.
    """

    def __init__(
        self,
        scope: ComputeCluster,
        construct_id: str,
        *,
        instance_types: Sequence[str],
        min_capacity: int,
        max_capacity: int,
        on_demand_base_capacity: int,
        on_demand_percentage_above_base: int,
        machine_image: MachineImageKind,
        target_capacity_percent: int,
        managed_termination_protection: bool,
        root_volume_size_gib: int,
        container_stop_timeout: Duration,
        image_pull_behavior: str,
        instance_tags: Mapping[str, str],
        vpc_subnets: ec2.SubnetSelection | None,
        associate_public_ip_address: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        prop = f"ComputeCluster.add_ec2_capacity({construct_id!r})"
        self.architecture = common_architecture(instance_types, prop=f"{prop}.instance_types")
        self.instance_types: tuple[str, ...] = tuple(instance_types)
        """The EC2 instance types of the group (one CPU architecture: :attr:`architecture`)."""
        check_range(f"{prop}.min_capacity", min_capacity, 0)
        check_range(f"{prop}.max_capacity", max_capacity, 1)
        if min_capacity > max_capacity:
            raise EcskitValidationError(
                f"{prop}.min_capacity ({min_capacity}) must be <= max_capacity ({max_capacity})"
            )
        check_range(f"{prop}.on_demand_base_capacity", on_demand_base_capacity, 0)
        check_range(
            f"{prop}.on_demand_percentage_above_base", on_demand_percentage_above_base, 0, 100
        )
        check_range(f"{prop}.target_capacity_percent", target_capacity_percent, 1, 100)
        check_range(f"{prop}.root_volume_size_gib", root_volume_size_gib, 8, 16_384)
        stop_seconds = int(container_stop_timeout.to_seconds())
        check_range(f"{prop}.container_stop_timeout (seconds)", stop_seconds, 1, 120)
        if image_pull_behavior not in IMAGE_PULL_BEHAVIORS:
            raise invalid(
                f"{prop}.image_pull_behavior", image_pull_behavior, f"one of {IMAGE_PULL_BEHAVIORS}"
            )

        cluster = scope.cluster
        arm = self.architecture == "arm64"
        uses_spot = on_demand_percentage_above_base < 100
        self.machine_image_kind = machine_image
        settings = {
            "spot_instance_draining": uses_spot,
            "container_stop_timeout_seconds": stop_seconds,
            "image_pull_behavior": image_pull_behavior,
        }
        if machine_image is MachineImageKind.BOTTLEROCKET:
            image: ec2.IMachineImage = ecs.BottleRocketImage(
                architecture=(
                    ec2.InstanceArchitecture.ARM_64 if arm else ec2.InstanceArchitecture.X86_64
                ),
                variant=ecs.BottlerocketEcsVariant.AWS_ECS_2,
            )
            # CDK opens ``[settings.ecs]`` with the cluster name when the provider is added;
            # the template continues that table, so it is appended afterwards (below).
            user_data = ec2.UserData.custom("")
            block_devices = [
                _encrypted_volume("/dev/xvda", 4),  # OS volume
                _encrypted_volume("/dev/xvdb", root_volume_size_gib),  # data: images, layers
            ]
            image_type = ecs.MachineImageType.BOTTLEROCKET
        else:
            image = ecs.EcsOptimizedImage.amazon_linux2023(
                hardware_type=ecs.AmiHardwareType.ARM if arm else ecs.AmiHardwareType.STANDARD
            )
            user_data = ec2.UserData.for_linux()
            user_data.add_commands(
                render_template(
                    "ecs_al2023_user_data.sh.j2",
                    cluster_name=cluster.cluster_name,
                    instance_tags=dict(instance_tags),
                    **settings,
                )
            )
            block_devices = [_encrypted_volume("/dev/xvda", root_volume_size_gib)]
            image_type = ecs.MachineImageType.AMAZON_LINUX_2

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=cluster.vpc,
            description="ECS container instances (no inbound; tasks use awsvpc security groups)",
            allow_all_outbound=True,
        )
        self.instance_role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="ECS container instance role (agent only; tasks get their own roles)",
        )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=image,
            user_data=user_data,
            role=self.instance_role,
            security_group=self.security_group,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            block_devices=block_devices,
            associate_public_ip_address=associate_public_ip_address or None,
        )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "AutoScalingGroup",
            vpc=cluster.vpc,
            vpc_subnets=vpc_subnets,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            capacity_rebalance=uses_spot,
            mixed_instances_policy=autoscaling.MixedInstancesPolicy(
                launch_template=self.launch_template,
                launch_template_overrides=[
                    autoscaling.LaunchTemplateOverrides(instance_type=ec2.InstanceType(name))
                    for name in instance_types
                ],
                instances_distribution=autoscaling.InstancesDistribution(
                    on_demand_base_capacity=on_demand_base_capacity,
                    on_demand_percentage_above_base_capacity=on_demand_percentage_above_base,
                    on_demand_allocation_strategy=autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
                    spot_allocation_strategy=(
                        autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED
                    ),
                ),
            ),
        )
        self.capacity_provider = ecs.AsgCapacityProvider(
            self,
            "CapacityProvider",
            auto_scaling_group=self.auto_scaling_group,
            machine_image_type=image_type,
            enable_managed_scaling=True,
            target_capacity_percent=target_capacity_percent,
            enable_managed_termination_protection=managed_termination_protection,
            enable_managed_draining=True,
            spot_instance_draining=uses_spot,
        )
        cluster.add_asg_capacity_provider(self.capacity_provider)
        if machine_image is MachineImageKind.BOTTLEROCKET:
            user_data.add_commands(
                render_template("ecs_bottlerocket_user_data.toml.j2", **settings)
            )
        self.teardown: CustomResource | None = None
        if managed_termination_protection:
            self.teardown = _teardown_helper(self, self.auto_scaling_group)

    @property
    def capacity_provider_name(self) -> str:
        return self.capacity_provider.capacity_provider_name


def _encrypted_volume(device: str, size_gib: int) -> ec2.BlockDevice:
    return ec2.BlockDevice(
        device_name=device,
        volume=ec2.BlockDeviceVolume.ebs(
            size_gib, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3
        ),
    )


def _teardown_helper(scope: Construct, group: autoscaling.AutoScalingGroup) -> CustomResource:
    """A custom resource deleted before ``group``: it unprotects the instances so CloudFormation
    can delete a group whose instances ECS protected from scale-in (aws-cdk issue 18179)."""
    log_group = logs.LogGroup(scope, "TeardownLogs", retention=logs.RetentionDays.ONE_MONTH)
    # Its own role: write to its log group only (no AWSLambdaBasicExecutionRole, which allows
    # every log group of the account).
    role = iam.Role(
        scope,
        "TeardownRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="ecskit: capacity teardown function (its log group, its Auto Scaling group)",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        "TeardownFunction",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(_TEARDOWN_HANDLER.read_text()),
        timeout=Duration.minutes(2),
        description="ecskit: release ECS scale-in protection so the stack can be deleted",
        log_group=log_group,
        role=role,
    )
    group_arn = Stack.of(scope).format_arn(
        service="autoscaling",
        resource="autoScalingGroup:*:autoScalingGroupName",
        resource_name=group.auto_scaling_group_name,
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=[
                "autoscaling:UpdateAutoScalingGroup",
                "autoscaling:SetInstanceProtection",
                "autoscaling:DeleteLifecycleHook",
            ],
            resources=[group_arn],
        )
    )
    function.add_to_role_policy(
        iam.PolicyStatement(
            # Describe* calls do not support resource-level permissions.
            actions=[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeLifecycleHooks",
            ],
            resources=["*"],
        )
    )
    # It refers to the group, so CloudFormation deletes it first: the instances are released
    # before the group's deletion starts.
    return CustomResource(
        scope,
        "Teardown",
        service_token=function.function_arn,
        resource_type="Custom::EcskitCapacityTeardown",
        properties={"AutoScalingGroupName": group.auto_scaling_group_name},
    )


class ComputeCluster(Construct):
    """An ECS cluster with Fargate and Fargate Spot capacity providers and optional EC2 capacity.

    Container Insights is on (``ENHANCED`` by default). The cluster, its capacity providers and
    their association live in one construct, so the dependency points one way only (no
    cross-stack cycle as in aws-cdk issue 35210). The default capacity provider strategy is
    ``FARGATE`` weight 1 unless set with :meth:`set_default_capacity_provider_strategy`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster_name: str | None = None,
        container_insights: ecs.ContainerInsights = ecs.ContainerInsights.ENHANCED,
        enable_fargate: bool = True,
    ) -> None:
        """Create the cluster.

        :param vpc: the VPC for EC2 capacity and services (e.g. ``Network(...).vpc``).
        :param cluster_name: the ECS cluster name. Default: generated by CloudFormation.
        :param container_insights: ``ENHANCED``, ``ENABLED`` or ``DISABLED``. Default: ENHANCED.
        :param enable_fargate: add the ``FARGATE`` and ``FARGATE_SPOT`` capacity providers.
            Default: True.
        """
        super().__init__(scope, construct_id)
        # Not "Resource": ecs.Cluster names its capacity provider association after its own id,
        # inside itself, which would clash with its CfnCluster child "Resource".
        self.cluster: ecs.Cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            cluster_name=cluster_name,
            container_insights_v2=container_insights,
            enable_fargate_capacity_providers=enable_fargate,
        )
        """The ECS cluster."""
        self.container_insights: ecs.ContainerInsights = container_insights
        """The Container Insights setting of the cluster (as given)."""
        self.ec2_capacities: dict[str, Ec2Capacity] = {}
        """EC2 capacities by the name given to :meth:`add_ec2_capacity`."""
        self._fargate = enable_fargate
        self._default_strategy_set = False
        self._default_shares: tuple[CapacityShare, ...] = ()
        Aspects.of(self).add(_DefaultFargateStrategy(self))

    @property
    def cluster_name(self) -> str:
        return self.cluster.cluster_name

    @property
    def capacity_provider_names(self) -> list[str]:
        """Names usable in a :class:`CapacityShare`: Fargate ones and the EC2 capacities."""
        return [*((FARGATE, FARGATE_SPOT) if self._fargate else ()), *self.ec2_capacities]

    @property
    def default_capacity_shares(self) -> tuple[CapacityShare, ...]:
        """The default strategy as set with :meth:`set_default_capacity_provider_strategy`, else
        ``FARGATE`` weight 1 (or nothing when Fargate is disabled and none was set)."""
        if self._default_shares:
            return self._default_shares
        return (CapacityShare(FARGATE),) if self._fargate else ()

    @staticmethod
    def is_fargate_strategy(shares: Sequence[CapacityShare]) -> bool:
        """True when ``shares`` name only ``FARGATE``/``FARGATE_SPOT`` (a validated strategy never
        mixes Fargate and EC2)."""
        return all(share.provider in (FARGATE, FARGATE_SPOT) for share in shares)

    def add_ec2_capacity(
        self,
        name: str,
        *,
        instance_types: Sequence[str],
        max_capacity: int,
        min_capacity: int = 0,
        on_demand_base_capacity: int = 0,
        on_demand_percentage_above_base: int = 100,
        machine_image: MachineImageKind = MachineImageKind.AMAZON_LINUX_2023,
        target_capacity_percent: int = 100,
        managed_termination_protection: bool = True,
        root_volume_size_gib: int = 30,
        container_stop_timeout: Duration | None = None,
        image_pull_behavior: str = "default",
        instance_tags: Mapping[str, str] | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        associate_public_ip_address: bool = False,
    ) -> Ec2Capacity:
        """Add an Auto Scaling group of ECS container instances as a capacity provider.

        :param name: the capacity's name in this cluster (its construct id, and the
            ``provider`` a :class:`CapacityShare` uses), e.g. ``"general"``.
        :param instance_types: EC2 types, all x86_64 or all Graviton (the AMI follows), e.g.
            ``["m7g.large", "m6g.large"]``; more than one spreads Spot risk.
        :param max_capacity: most instances.
        :param min_capacity: fewest instances. Default: 0 (managed scaling adds them).
        :param on_demand_base_capacity: instances that are always on-demand. Default: 0.
        :param on_demand_percentage_above_base: on-demand share above the base, 0-100; below
            100 the rest is Spot (price-capacity-optimised, capacity rebalancing and ECS Spot
            draining on). Default: 100 (no Spot).
        :param machine_image: ECS-optimised Amazon Linux 2023 or Bottlerocket.
            Default: AMAZON_LINUX_2023.
        :param target_capacity_percent: managed scaling target utilisation. Default: 100.
        :param managed_termination_protection: ECS keeps instances running tasks from being
            scaled in. A teardown custom resource releases the protection when the stack is
            deleted, so deletion does not hang (aws-cdk issue 18179). Default: True.
        :param root_volume_size_gib: encrypted gp3 root (Bottlerocket: data) volume. Default: 30.
        :param container_stop_timeout: time between SIGTERM and SIGKILL (1-120 s).
            Default: 30 seconds.
        :param image_pull_behavior: ECS agent image pull behaviour: ``default``, ``always``,
            ``once`` or ``prefer-cached``. Default: ``default``.
        :param instance_tags: tags the ECS agent puts on the container instance (Amazon Linux
            only). Default: none.
        :param vpc_subnets: where the instances go. Default: the VPC's private subnets.
        :param associate_public_ip_address: give instances a public IP (only for public
            subnets in a VPC without NAT). Default: False.

        Instances use IMDSv2 only with a hop limit of 1 and ``ECS_AWSVPC_BLOCK_IMDS``, so tasks
        cannot read the instance role's credentials. Managed draining is on.

        cdk-nag (AwsSolutions) findings this capacity cannot avoid, acknowledged with their
        reasons in the ecskit app (``stacks/compliance.py``, README "Security and compliance"):
        the ECS agent's wildcard permissions that aws-cdk-lib writes (IAM5), AWS managed
        policies of Bottlerocket instance roles (IAM4), EC26 (the rule cannot read a
        MixedInstancesPolicy launch template; all volumes are encrypted), AS3 (no Auto Scaling
        notifications: ECS scales the group) and the teardown role's read-only ``Describe*``
        on ``*`` and group ARN with its id wildcard (IAM5).
        """
        if name in self.ec2_capacities or name in (FARGATE, FARGATE_SPOT):
            raise invalid("ComputeCluster.add_ec2_capacity name", name, "a name not already used")
        if (
            not name
            or not name.replace("-", "").isalnum()
            or name.lower().startswith(("aws", "ecs", "fargate"))
        ):
            raise invalid(
                "ComputeCluster.add_ec2_capacity name",
                name,
                "letters, digits and '-', not starting with 'aws', 'ecs' or 'fargate'",
            )
        capacity = Ec2Capacity(
            self,
            name,
            instance_types=instance_types,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            on_demand_base_capacity=on_demand_base_capacity,
            on_demand_percentage_above_base=on_demand_percentage_above_base,
            machine_image=machine_image,
            target_capacity_percent=target_capacity_percent,
            managed_termination_protection=managed_termination_protection,
            root_volume_size_gib=root_volume_size_gib,
            container_stop_timeout=container_stop_timeout or Duration.seconds(30),
            image_pull_behavior=image_pull_behavior,
            instance_tags=instance_tags or {},
            vpc_subnets=vpc_subnets,
            associate_public_ip_address=associate_public_ip_address,
        )
        self.ec2_capacities[name] = capacity
        return capacity

    def capacity_provider_strategy(
        self, shares: Sequence[CapacityShare], *, prop: str = "capacity_provider_strategy"
    ) -> list[ecs.CapacityProviderStrategy]:
        """Check ``shares`` against this cluster's providers and render them for ECS.

        Raises :class:`EcskitValidationError` naming ``prop`` for an unknown provider, weights
        out of range, a base on more than one provider, or Fargate mixed with EC2.
        """
        if not shares:
            raise invalid(prop, [], "at least one capacity provider share")
        known = self.capacity_provider_names
        rendered = []
        for i, share in enumerate(shares):
            if share.provider not in known:
                raise invalid(f"{prop}[{i}].provider", share.provider, f"one of {known}")
            check_range(f"{prop}[{i}].weight", share.weight, 0, 1000)
            check_range(f"{prop}[{i}].base", share.base, 0, 100_000)
            name = (
                self.ec2_capacities[share.provider].capacity_provider_name
                if share.provider in self.ec2_capacities
                else share.provider
            )
            rendered.append(
                ecs.CapacityProviderStrategy(
                    capacity_provider=name, weight=share.weight, base=share.base or None
                )
            )
        providers = [s.provider for s in shares]
        if len(set(providers)) != len(providers):
            raise invalid(prop, providers, "each provider at most once")
        if sum(1 for s in shares if s.base) > 1:
            raise invalid(prop, providers, "a base on at most one provider")
        if not any(s.weight for s in shares):
            raise invalid(prop, [s.weight for s in shares], "at least one weight above 0")
        kinds = {p in (FARGATE, FARGATE_SPOT) for p in providers}
        if len(kinds) > 1:
            raise invalid(prop, providers, "Fargate providers or EC2 capacities, not both")
        return rendered

    def set_default_capacity_provider_strategy(self, shares: Sequence[CapacityShare]) -> None:
        """Set the cluster's default strategy (once, after adding the EC2 capacities it names).

        Default when never called: ``FARGATE`` weight 1 (when Fargate is enabled).
        """
        prop = "ComputeCluster.default_capacity_provider_strategy"
        if self._default_strategy_set:
            raise EcskitValidationError(f"{prop} is already set; set it once")
        strategy = self.capacity_provider_strategy(shares, prop=prop)
        self.cluster.add_default_capacity_provider_strategy(strategy)
        self._default_strategy_set = True
        self._default_shares = tuple(shares)


@jsii.implements(IAspect)
class _DefaultFargateStrategy:
    """Applies the ``FARGATE`` default strategy at synth unless one was set explicitly (an
    aspect, so that :meth:`ComputeCluster.set_default_capacity_provider_strategy` may still be
    called after the EC2 capacities it names are added)."""

    def __init__(self, owner: ComputeCluster) -> None:
        self._owner = owner

    def visit(self, node: IConstruct) -> None:
        owner = self._owner
        if node is owner and owner._fargate and not owner._default_strategy_set:
            owner.set_default_capacity_provider_strategy([CapacityShare(FARGATE)])
