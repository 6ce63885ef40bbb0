"""``Network``: the VPC an ECS platform runs in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib._validate import (
    check_availability_zones,
    check_cidr,
    check_range,
    check_subnets_fit,
)
from constructs_lib.errors import EcskitValidationError, invalid

InterfaceEndpoint = str
"""An endpoint name accepted by ``Network(endpoints=...)``: one of :data:`ENDPOINT_NAMES`."""

_INTERFACE_ENDPOINTS: Final[dict[str, ec2.InterfaceVpcEndpointAwsService]] = {
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "ssmmessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
}
_GATEWAY_ENDPOINTS: Final[dict[str, ec2.GatewayVpcEndpointAwsService]] = {
    "s3": ec2.GatewayVpcEndpointAwsService.S3,
    "dynamodb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}
ENDPOINT_NAMES: Final[tuple[str, ...]] = (*_GATEWAY_ENDPOINTS, *_INTERFACE_ENDPOINTS)

IMAGE_PULL_ENDPOINTS: Final[tuple[str, ...]] = ("ecr.api", "ecr.dkr", "logs", "s3")
"""The endpoints a task in a subnet without NAT needs to pull from ECR and ship logs."""


class Network(Construct):
    """A VPC over 2-3 AZs with public and private (and optionally isolated) subnets.

    * ``Public`` subnets hold load balancers and NAT gateways.
    * ``Private`` subnets hold tasks and instances. They route out through NAT gateways when
      ``nat_gateways >= 1``; with ``nat_gateways=0`` (a cheap dev VPC) they are isolated, and
      tasks there need the endpoints in :data:`IMAGE_PULL_ENDPOINTS` (or run in public subnets
      with a public IP).
    * ``Isolated`` subnets (``isolated_subnets=True``) have no route out, for data stores.

    VPC flow logs go to a CloudWatch log group. The default security group is stripped of all
    rules (CDK's ``restrict_default_security_group``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str = "10.0.0.0/16",
        max_azs: int = 2,
        availability_zones: Sequence[str] | None = None,
        nat_gateways: int = 1,
        public_subnet_mask: int = 24,
        private_subnet_mask: int = 20,
        isolated_subnets: bool = False,
        isolated_subnet_mask: int = 24,
        flow_logs: bool = True,
        flow_log_traffic_type: ec2.FlowLogTrafficType = ec2.FlowLogTrafficType.ALL,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        endpoints: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """Create the VPC.

        :param cidr: IPv4 CIDR of the VPC, /16 to /24. Default: ``10.0.0.0/16``.
        :param max_azs: number of AZs (2 or 3) when ``availability_zones`` is not given.
            Default: 2.
        :param availability_zones: the exact AZs (2 or 3), e.g. ``["eu-west-1a", "eu-west-1b"]``.
            Giving them makes synth need no AZ lookup even for a stack with an explicit account
            and region. Default: the first ``max_azs`` AZs of the stack's region.
        :param nat_gateways: NAT gateways, 0 up to one per AZ. 0 makes the private subnets
            isolated (no internet egress). Default: 1.
        :param public_subnet_mask: prefix length of each public subnet. Default: 24.
        :param private_subnet_mask: prefix length of each private subnet. Default: 20.
        :param isolated_subnets: add an ``Isolated`` subnet group. Default: False.
        :param isolated_subnet_mask: prefix length of each isolated subnet. Default: 24.
        :param flow_logs: record VPC flow logs to CloudWatch Logs. Default: True.
        :param flow_log_traffic_type: which traffic to log. Default: ALL.
        :param flow_log_retention: retention of the flow log group. Default: one month.
        :param endpoints: VPC endpoints to add, by name: gateway ``s3``, ``dynamodb``; interface
            ``ecr.api``, ``ecr.dkr``, ``logs``, ``secretsmanager``, ``ssm``, ``ssmmessages``,
            ``ecs``, ``sts``, ``kms`` (in the private subnets, private DNS on, HTTPS from the
            VPC only). Default: none.
        :param removal_policy: what happens to the flow log group when it leaves the stack.
            Default: RETAIN.
        """
        super().__init__(scope, construct_id)
        az_count = self._validate(
            cidr=cidr,
            max_azs=max_azs,
            availability_zones=availability_zones,
            nat_gateways=nat_gateways,
            masks={
                "Network.public_subnet_mask": public_subnet_mask,
                "Network.private_subnet_mask": private_subnet_mask,
                **(
                    {"Network.isolated_subnet_mask": isolated_subnet_mask}
                    if isolated_subnets
                    else {}
                ),
            },
            endpoints=endpoints,
        )
        self.has_nat_egress: bool = nat_gateways > 0
        """Whether the ``Private`` subnets route to the internet through NAT gateways."""

        subnets = [
            ec2.SubnetConfiguration(
                name="Public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=public_subnet_mask
            ),
            ec2.SubnetConfiguration(
                name="Private",
                subnet_type=(
                    ec2.SubnetType.PRIVATE_WITH_EGRESS
                    if self.has_nat_egress
                    else ec2.SubnetType.PRIVATE_ISOLATED
                ),
                cidr_mask=private_subnet_mask,
            ),
        ]
        if isolated_subnets:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=isolated_subnet_mask,
                )
            )
        self.vpc: ec2.Vpc = ec2.Vpc(
            self,
            "Resource",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=list(availability_zones) if availability_zones else None,
            max_azs=None if availability_zones else az_count,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            restrict_default_security_group=True,
        )
        """The VPC."""

        self.flow_log_group: logs.LogGroup | None = None
        """The log group receiving VPC flow logs (None when ``flow_logs=False``)."""
        self.flow_log: ec2.FlowLog | None = None
        if flow_logs:
            self.flow_log_group = logs.LogGroup(
                self, "FlowLogGroup", retention=flow_log_retention, removal_policy=removal_policy
            )
            self.flow_log = self.vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                traffic_type=flow_log_traffic_type,
            )

        self.endpoints: dict[str, ec2.IVpcEndpoint] = {}
        """The VPC endpoints created, keyed by the names given in ``endpoints``."""
        private = ec2.SubnetSelection(subnet_group_name="Private")
        for name in endpoints:
            endpoint_id = "Endpoint" + "".join(part.capitalize() for part in name.split("."))
            if name in _GATEWAY_ENDPOINTS:
                self.endpoints[name] = self.vpc.add_gateway_endpoint(
                    endpoint_id, service=_GATEWAY_ENDPOINTS[name]
                )
            else:
                endpoint = self.vpc.add_interface_endpoint(
                    endpoint_id,
                    service=_INTERFACE_ENDPOINTS[name],
                    subnets=private,
                    private_dns_enabled=True,
                    open=False,
                )
                # HTTPS from the VPC CIDR only, written as the literal CIDR (not a reference to
                # the VPC's CidrBlock) so that checkers (cdk-nag EC23) can see it is not open.
                endpoint.connections.allow_from(
                    ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), f"HTTPS from the VPC ({cidr})"
                )
                self.endpoints[name] = endpoint

    @property
    def private_subnets(self) -> ec2.SubnetSelection:
        """Where tasks and instances go: the ``Private`` subnet group."""
        return ec2.SubnetSelection(subnet_group_name="Private")

    @property
    def public_subnets(self) -> ec2.SubnetSelection:
        """Where internet-facing load balancers go: the ``Public`` subnet group."""
        return ec2.SubnetSelection(subnet_group_name="Public")

    @property
    def can_pull_images_privately(self) -> bool:
        """True when tasks in the private subnets can reach ECR and CloudWatch Logs."""
        return self.has_nat_egress or all(name in self.endpoints for name in IMAGE_PULL_ENDPOINTS)

    @staticmethod
    def _validate(
        *,
        cidr: str,
        max_azs: int,
        availability_zones: Sequence[str] | None,
        nat_gateways: int,
        masks: dict[str, int],
        endpoints: Sequence[str],
    ) -> int:
        if availability_zones is not None:
            if any(Token.is_unresolved(zone) for zone in availability_zones):
                raise invalid("Network.availability_zones", availability_zones, "literal AZ names")
            check_availability_zones("Network.availability_zones", list(availability_zones), None)
            az_count = len(availability_zones)
        else:
            az_count = check_range("Network.max_azs", max_azs, 2, 3)
        check_range("Network.nat_gateways", nat_gateways, 0, az_count)
        if not Token.is_unresolved(cidr):
            check_cidr("Network.cidr", cidr)
            check_subnets_fit("Network.cidr", cidr, az_count, masks)
        unknown = [name for name in endpoints if name not in ENDPOINT_NAMES]
        if unknown:
            raise invalid(
                "Network.endpoints", unknown, f"a list of names from {list(ENDPOINT_NAMES)}"
            )
        if len(set(endpoints)) != len(endpoints):
            raise EcskitValidationError(f"Network.endpoints lists a name twice: {list(endpoints)}")
        return az_count
