"""``NetworkService``: a TCP, TLS or UDP service behind a Network Load Balancer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from constructs import Construct

from constructs_lib._service_base import EcsServiceBase
from constructs_lib._validate import (
    Architecture,
    check_health_check_timing,
    check_port,
    check_range,
    whole,
)
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.deployment import Deployment
from constructs_lib.errors import invalid
from constructs_lib.task import ContainerSpec
from constructs_lib.web_service import (
    DEFAULT_SSL_POLICY,
    check_ssl_policy,
    dns_validated_certificate,
    ingress_peers,
)

NetworkProtocol = Literal["TCP", "TLS", "UDP"]
HealthCheckProtocol = Literal["TCP", "HTTP", "HTTPS"]


class NetworkService(EcsServiceBase):
    """A service behind its own Network Load Balancer: TCP, TLS (terminated at the load
    balancer with an ACM certificate and a TLS 1.2+ policy) or UDP.

    The load balancer has a security group that admits only the listener port from
    ``ingress_cidrs`` / ``ingress_prefix_lists``; the tasks admit only the load balancer's
    group, on the container port (and the health check port). Client IP preservation is
    off for TCP/TLS unless asked for, and always on for UDP (the NLB cannot turn it off).
    Deployments are rolling (``RollingDeployment``).

    Attributes: ``service``, ``task_definition``, ``container``, ``log_group``,
    ``load_balancer``, ``listener``, ``target_group``, ``security_group`` (the load
    balancer's), ``certificate``, ``dns_record``, ``connections``.
    """

    _KIND = "NetworkService"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ComputeCluster,
        container: ContainerSpec,
        sidecars: Sequence[ContainerSpec] = (),
        cpu: int = 256,
        memory_mib: int = 512,
        cpu_architecture: Architecture = "x86_64",
        capacity: Sequence[CapacityShare] | None = None,
        desired_count: int | None = None,
        deployment: Deployment | None = None,
        protocol: NetworkProtocol = "TCP",
        listener_port: int | None = None,
        internet_facing: bool = False,
        ingress_cidrs: Sequence[str] | None = None,
        ingress_prefix_lists: Sequence[str] = (),
        certificate: acm.ICertificate | None = None,
        domain_name: str | None = None,
        hosted_zone: route53.IHostedZone | None = None,
        ssl_policy: elbv2.SslPolicy = DEFAULT_SSL_POLICY,
        preserve_client_ip: bool | None = None,
        health_check_protocol: HealthCheckProtocol = "TCP",
        health_check_path: str | None = None,
        health_check_port: int | None = None,
        health_check_interval: Duration | None = None,
        health_check_timeout: Duration | None = None,
        healthy_threshold_count: int = 3,
        unhealthy_threshold_count: int = 3,
        deregistration_delay: Duration | None = None,
        cross_zone: bool = True,
        deletion_protection: bool = True,
        health_check_grace_period: Duration | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        load_balancer_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool = False,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        enable_execute_command: bool = False,
        ephemeral_storage_gib: int | None = None,
    ) -> None:
        """Create the task definition, service, Network Load Balancer and its listener.

        :param cluster: the :class:`ComputeCluster` to run in.
        :param container: the main container; ``container.port`` (and ``container.protocol``,
            ``udp`` for UDP) receives the traffic.
        :param protocol: ``TCP``, ``TLS`` or ``UDP``. Default: ``TCP``.
        :param listener_port: the load balancer's port. Default: the container port.
        :param internet_facing: public (True) or internal. Changing it replaces the load
            balancer and the target group. Default: False (internal).
        :param ingress_cidrs: who may connect. Default: ``0.0.0.0/0`` when internet-facing,
            the VPC CIDR when internal (listener port only).
        :param ingress_prefix_lists: managed prefix lists allowed too. Default: none.
        :param certificate: for TLS. Default: DNS-validated from ``domain_name`` +
            ``hosted_zone``.
        :param domain_name: DNS name; with ``hosted_zone`` also an alias record.
            Default: none.
        :param hosted_zone: the Route 53 zone of ``domain_name``. Default: none.
        :param ssl_policy: TLS listener policy, TLS 1.2+. Default: ``TLS13_12_RES_PQ``.
        :param preserve_client_ip: the tasks see the client's address. Default: False for
            TCP/TLS; always True for UDP.
        :param health_check_protocol: ``TCP``, ``HTTP`` or ``HTTPS``. Default: ``TCP``.
        :param health_check_path: for HTTP(S) health checks. Default: ``/`` for HTTP(S).
        :param health_check_port: Default: the traffic port; required for UDP (health checks
            are never UDP: give a TCP port the container listens on).
        :param health_check_interval: 5-300 s. Default: 10 seconds.
        :param health_check_timeout: 2-120 s, below the interval. Default: 5 seconds.
        :param healthy_threshold_count: 2-10. Default: 3.
        :param unhealthy_threshold_count: 2-10. Default: 3.
        :param deregistration_delay: 0-3600 s. Default: 30 seconds.
        :param cross_zone: cross-zone load balancing. Default: True.
        :param deletion_protection: Default: True.
        :param load_balancer_subnets: where the load balancer goes. Default: public subnets
            when internet-facing, private subnets when internal.
        Other props as :class:`WebService` (``deployment`` must be rolling).
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        if protocol not in ("TCP", "TLS", "UDP"):
            raise invalid(f"{kind}.protocol", protocol, "'TCP', 'TLS' or 'UDP'")
        wanted = "udp" if protocol == "UDP" else "tcp"
        if container.port is None or container.protocol != wanted:
            raise invalid(
                f"{kind}.container.port",
                container.port
                if container.port is None
                else f"{container.port}/{container.protocol}",
                f"a {wanted.upper()} container port for a {protocol} listener",
            )
        port = container.port
        listener_port = port if listener_port is None else listener_port
        check_port(f"{kind}.listener_port", listener_port)
        if (
            protocol == "TLS"
            and certificate is None
            and (domain_name is None or hosted_zone is None)
        ):
            raise invalid(
                f"{kind}.certificate",
                None,
                "an ACM certificate for TLS, or domain_name + hosted_zone to create a "
                "DNS-validated one",
            )
        check_ssl_policy(f"{kind}.ssl_policy", ssl_policy)
        if protocol == "UDP":
            if preserve_client_ip is False:
                raise invalid(
                    f"{kind}.preserve_client_ip",
                    False,
                    "True or unset for UDP (a Network Load Balancer always preserves the client "
                    "IP of UDP traffic)",
                )
            if health_check_port is None:
                raise invalid(
                    f"{kind}.health_check_port",
                    None,
                    "a TCP port the container listens on, for UDP (load balancer health checks "
                    "use TCP or HTTP, never UDP)",
                )
        if health_check_protocol not in ("TCP", "HTTP", "HTTPS"):
            raise invalid(
                f"{kind}.health_check_protocol", health_check_protocol, "'TCP', 'HTTP' or 'HTTPS'"
            )
        if health_check_path is not None and health_check_protocol == "TCP":
            raise invalid(
                f"{kind}.health_check_path",
                health_check_path,
                "None for a TCP health check (set health_check_protocol='HTTP' to use a path)",
            )
        if health_check_port is not None:
            check_port(f"{kind}.health_check_port", health_check_port)
        interval = health_check_interval or Duration.seconds(10)
        timeout = health_check_timeout or Duration.seconds(5)
        check_health_check_timing(
            f"{kind}.health_check",
            whole(f"{kind}.health_check_interval", interval.to_seconds(integral=False)),
            whole(f"{kind}.health_check_timeout", timeout.to_seconds(integral=False)),
        )
        check_range(f"{kind}.healthy_threshold_count", healthy_threshold_count, 2, 10)
        check_range(f"{kind}.unhealthy_threshold_count", unhealthy_threshold_count, 2, 10)
        delay = deregistration_delay or Duration.seconds(30)
        check_range(
            f"{kind}.deregistration_delay (seconds)",
            whole(f"{kind}.deregistration_delay", delay.to_seconds(integral=False)),
            0,
            3600,
        )
        vpc = cluster.cluster.vpc
        peers = ingress_peers(
            f"{kind}.ingress",
            list(ingress_cidrs)
            if ingress_cidrs is not None
            else (["0.0.0.0/0"] if internet_facing else [vpc.vpc_cidr_block]),
            ingress_prefix_lists,
        )

        self._create_service(
            cluster=cluster,
            container=container,
            sidecars=sidecars,
            cpu=cpu,
            memory_mib=memory_mib,
            cpu_architecture=cpu_architecture,
            capacity=capacity,
            desired_count=desired_count,
            deployment=deployment,
            allow_traffic_shifting=False,
            vpc_subnets=vpc_subnets,
            assign_public_ip=assign_public_ip,
            security_groups=None,
            task_role=task_role,
            execution_role=execution_role,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
            enable_execute_command=enable_execute_command,
            ephemeral_storage_gib=ephemeral_storage_gib,
            health_check_grace_period=health_check_grace_period,
        )

        self.certificate = (
            dns_validated_certificate(
                self,
                kind,
                certificate=certificate,
                domain_name=domain_name,
                hosted_zone=hosted_zone,
            )
            if protocol == "TLS"
            else None
        )
        """The TLS certificate (given or created), or None."""
        self.security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=vpc,
            description="Load balancer: listener port from the configured sources only",
            allow_all_outbound=False,
        )
        """The load balancer's security group."""
        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            security_groups=[self.security_group],
            vpc_subnets=load_balancer_subnets
            or (
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC) if internet_facing else None
            ),
            cross_zone_enabled=cross_zone,
            deletion_protection=deletion_protection,
        )
        """The Network Load Balancer."""
        scheme = "Public" if internet_facing else "Internal"
        traffic = ec2.Port.udp(port) if protocol == "UDP" else ec2.Port.tcp(port)
        hc_path = health_check_path or ("/" if health_check_protocol != "TCP" else None)
        self.target_group = elbv2.NetworkTargetGroup(
            self,
            f"TargetGroup{scheme}",
            vpc=vpc,
            port=port,
            protocol=elbv2.Protocol.UDP if protocol == "UDP" else elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP,
            preserve_client_ip=True if protocol == "UDP" else bool(preserve_client_ip),
            deregistration_delay=delay,
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol(health_check_protocol),
                path=hc_path,
                port=str(health_check_port) if health_check_port is not None else None,
                interval=interval,
                timeout=timeout,
                healthy_threshold_count=healthy_threshold_count,
                unhealthy_threshold_count=unhealthy_threshold_count,
            ),
        )
        """The target group (its id includes the scheme: a public/internal switch deploys)."""
        self.listener = self.load_balancer.add_listener(
            "Listener",
            port=listener_port,
            protocol=elbv2.Protocol(protocol),
            certificates=(
                [elbv2.ListenerCertificate.from_certificate_manager(self.certificate)]
                if self.certificate
                else None
            ),
            ssl_policy=ssl_policy if protocol == "TLS" else None,
            default_target_groups=[self.target_group],
        )
        """The listener."""
        self.service.load_balancer_target(
            container_name=container.name,
            container_port=port,
            protocol=ecs.Protocol.UDP if container.protocol == "udp" else ecs.Protocol.TCP,
        ).attach_to_network_target_group(self.target_group)
        listener_traffic = (
            ec2.Port.udp(listener_port) if protocol == "UDP" else ec2.Port.tcp(listener_port)
        )
        for peer, label in peers:
            self.load_balancer.connections.allow_from(
                peer, listener_traffic, f"listener {listener_port} from {label}"
            )
        # Tasks admit the load balancer only: traffic and health checks.
        self.service.connections.allow_from(self.load_balancer, traffic, "load balancer")
        if protocol == "UDP" or (health_check_port is not None and health_check_port != port):
            self.service.connections.allow_from(
                self.load_balancer,
                ec2.Port.tcp(health_check_port or port),
                "load balancer health check",
            )
        self.dns_record: route53.ARecord | None = None
        """The alias record for ``domain_name``, or None."""
        if domain_name is not None and hosted_zone is not None:
            self.dns_record = route53.ARecord(
                self,
                "AliasRecord",
                zone=hosted_zone,
                record_name=domain_name,
                target=route53.RecordTarget.from_alias(
                    route53_targets.LoadBalancerTarget(self.load_balancer)
                ),
            )
