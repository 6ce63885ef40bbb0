"""``WebLoadBalancer`` (an ALB, shareable) and ``WebService`` (a service behind it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib import metrics
from constructs_lib._service_base import EcsServiceBase
from constructs_lib._validate import (
    Architecture,
    check_distinct,
    check_domain_name,
    check_health_check_timing,
    check_http_codes,
    check_ingress_source,
    check_listener_priority,
    check_port,
    check_range,
    check_rule_conditions,
    whole,
)
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.deployment import Deployment
from constructs_lib.errors import invalid
from constructs_lib.task import ContainerSpec

WebProtocol = Literal["HTTP", "HTTPS"]

DEFAULT_SSL_POLICY: Final = elbv2.SslPolicy.TLS13_12_RES_PQ
"""TLS 1.3 and 1.2 only, restricted ciphers (no CBC), post-quantum hybrid key exchange."""

# Policies that still accept TLS 1.0 or 1.1: refused, the floor is TLS 1.2.
_OLD_TLS_POLICIES: Final = frozenset(
    {
        elbv2.SslPolicy.RECOMMENDED,
        elbv2.SslPolicy.TLS13_10,
        elbv2.SslPolicy.TLS13_11,
        elbv2.SslPolicy.TLS13_10_PQ,
        elbv2.SslPolicy.FIPS_TLS13_10,
        elbv2.SslPolicy.FIPS_TLS13_11,
        elbv2.SslPolicy.FIPS_TLS13_10_PQ,
        elbv2.SslPolicy.FORWARD_SECRECY_TLS11,
        elbv2.SslPolicy.FORWARD_SECRECY,
        elbv2.SslPolicy.TLS11,
        elbv2.SslPolicy.LEGACY,
    }
)


def check_ssl_policy(prop: str, policy: elbv2.SslPolicy) -> elbv2.SslPolicy:
    """A listener TLS policy whose floor is TLS 1.2."""
    if policy in _OLD_TLS_POLICIES:
        raise invalid(
            prop,
            f"SslPolicy.{policy.name}",
            "a TLS 1.2+ policy such as SslPolicy.TLS13_12_RES_PQ (the default), "
            "TLS13_12_PQ, RECOMMENDED_TLS or TLS13_13",
        )
    return policy


def ingress_peers(
    prop: str, cidrs: Sequence[str], prefix_lists: Sequence[str]
) -> list[tuple[ec2.IPeer, str]]:
    """Peers (and a description) for load balancer ingress rules."""
    peers: list[tuple[ec2.IPeer, str]] = []
    for i, cidr in enumerate(cidrs):
        if Token.is_unresolved(cidr):
            peers.append((ec2.Peer.ipv4(cidr), "configured CIDR"))
            continue
        check_ingress_source(f"{prop}_cidrs[{i}]", cidr)
        if cidr.startswith("pl-"):
            raise invalid(f"{prop}_cidrs[{i}]", cidr, "a CIDR (put prefix lists in *_prefix_lists)")
        peer = ec2.Peer.ipv6(cidr) if ":" in cidr else ec2.Peer.ipv4(cidr)
        peers.append((peer, cidr))
    for i, prefix_list in enumerate(prefix_lists):
        if not Token.is_unresolved(prefix_list) and not prefix_list.startswith("pl-"):
            raise invalid(f"{prop}_prefix_lists[{i}]", prefix_list, "a prefix list id 'pl-...'")
        if not Token.is_unresolved(prefix_list):
            check_ingress_source(f"{prop}_prefix_lists[{i}]", prefix_list)
        peers.append((ec2.Peer.prefix_list(prefix_list), "configured prefix list"))
    if not peers:
        raise invalid(f"{prop}_cidrs", list(cidrs), "at least one CIDR or prefix list")
    return peers


def dns_validated_certificate(
    scope: Construct,
    prop: str,
    *,
    certificate: acm.ICertificate | None,
    domain_name: str | None,
    hosted_zone: route53.IHostedZone | None,
    subject_alternative_names: Sequence[str] = (),
) -> acm.ICertificate | None:
    """The given certificate, or a new DNS-validated one for ``domain_name`` in ``hosted_zone``
    (validation records are created in the zone; no lookup at synth)."""
    if domain_name is not None and not Token.is_unresolved(domain_name):
        check_domain_name(f"{prop}.domain_name", domain_name)
    for i, name in enumerate(subject_alternative_names):
        check_domain_name(f"{prop}.subject_alternative_names[{i}]", name)
    if certificate is not None:
        return certificate
    if domain_name is None:
        return None
    if hosted_zone is None:
        raise invalid(
            f"{prop}.hosted_zone",
            None,
            f"the Route 53 zone of {domain_name!r} (to DNS-validate a new certificate), or pass "
            "certificate=",
        )
    return acm.Certificate(
        scope,
        "Certificate",
        domain_name=domain_name,
        subject_alternative_names=list(subject_alternative_names) or None,
        validation=acm.CertificateValidation.from_dns(hosted_zone),
    )


class WebLoadBalancer(Construct):
    """An Application Load Balancer with safe defaults, shareable by several ``WebService``s.

    * Listeners answer 404 unless a service's rule matches (host/path, by priority), so an
      unknown host never reaches a service by accident.
    * Its security group admits only the listener ports, and only from ``ingress_cidrs`` /
      ``ingress_prefix_lists`` (never an implicit ``0.0.0.0/0``; aws-cdk 35292). Outbound goes
      only to the services' tasks, on their container ports.
    * HTTPS (with a certificate, or a DNS-validated one from ``domain_name`` + ``hosted_zone``)
      uses a TLS 1.2+ policy; port 80 then redirects to HTTPS.
    * Invalid header fields are dropped; deletion protection and access logs (to an encrypted,
      SSL-only, private bucket with expiry) are on unless turned off.
    * A test listener (``test_listener_port``) lets blue/green deployments reach the new tasks
      before production traffic does; by default only from inside the VPC.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        internet_facing: bool = True,
        ingress_cidrs: Sequence[str] | None = None,
        ingress_prefix_lists: Sequence[str] = (),
        protocol: WebProtocol | None = None,
        certificate: acm.ICertificate | None = None,
        domain_name: str | None = None,
        subject_alternative_names: Sequence[str] = (),
        hosted_zone: route53.IHostedZone | None = None,
        create_dns_record: bool = True,
        redirect_http: bool | None = None,
        http_port: int = 80,
        https_port: int = 443,
        ssl_policy: elbv2.SslPolicy = DEFAULT_SSL_POLICY,
        test_listener_port: int | None = None,
        test_ingress_cidrs: Sequence[str] | None = None,
        deletion_protection: bool = True,
        access_logs: bool = True,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_prefix: str | None = None,
        access_logs_expiry: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        idle_timeout: Duration | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        """Create the load balancer, its security group and listeners.

        :param vpc: the VPC (e.g. ``Network(...).vpc``).
        :param internet_facing: public (True, in the public subnets) or internal. Changing it
            replaces the load balancer; the services' target groups are replaced with it (their
            ids include the scheme, so the switch deploys; aws-cdk 33253). Default: True.
        :param ingress_cidrs: IPv4/IPv6 CIDRs allowed to the listener ports. Default:
            ``["0.0.0.0/0"]`` when internet-facing, the VPC CIDR when internal.
        :param ingress_prefix_lists: managed prefix list ids allowed too. Default: none.
        :param protocol: ``HTTP`` or ``HTTPS``. Default: HTTPS when a certificate or domain is
            given, else HTTP.
        :param certificate: ACM certificate for HTTPS. Default: a DNS-validated certificate
            for ``domain_name`` when ``hosted_zone`` is given, else none.
        :param domain_name: the DNS name served, e.g. ``app.example.com``. Default: none.
        :param subject_alternative_names: more names on a created certificate. Default: none.
        :param hosted_zone: the Route 53 zone of ``domain_name`` (use
            ``HostedZone.from_hosted_zone_attributes``: no lookup). Default: none.
        :param create_dns_record: an alias A record for ``domain_name`` in ``hosted_zone``.
            Default: True (when both are given).
        :param redirect_http: port ``http_port`` redirects to HTTPS. Only with HTTPS.
            Default: True with HTTPS.
        :param http_port: Default: 80. :param https_port: Default: 443.
        :param ssl_policy: TLS policy of HTTPS listeners, TLS 1.2 or newer.
            Default: ``TLS13_12_RES_PQ``.
        :param test_listener_port: add a test listener on this port for blue/green, canary and
            linear deployments. Default: none.
        :param test_ingress_cidrs: who may reach the test listener. Default: the VPC CIDR.
        :param deletion_protection: Default: True.
        :param access_logs: write access logs to S3. Default: True.
        :param access_logs_bucket: where. Default: a new bucket (SSE-S3, SSL only, public
            access blocked, objects expire after ``access_logs_expiry``).
        :param access_logs_prefix: key prefix. Default: none.
        :param access_logs_expiry: lifetime of log objects in a created bucket. Default: 90 days.
        :param removal_policy: what happens to a created log bucket when it leaves the stack.
            Default: RETAIN.
        :param idle_timeout: connection idle timeout. Default: 60 seconds (the ALB default).
        :param vpc_subnets: where the load balancer goes. Default: public subnets when
            internet-facing, private subnets when internal.
        """
        super().__init__(scope, construct_id)
        prop = "WebLoadBalancer"
        if protocol not in (None, "HTTP", "HTTPS"):
            raise invalid(f"{prop}.protocol", protocol, "'HTTP' or 'HTTPS'")
        https = protocol == "HTTPS" or (
            protocol is None and (certificate is not None or domain_name is not None)
        )
        if https and certificate is None and (domain_name is None or hosted_zone is None):
            raise invalid(
                f"{prop}.certificate",
                None,
                "an ACM certificate for HTTPS, or give domain_name + hosted_zone to create a "
                "DNS-validated one (or use protocol='HTTP')",
            )
        if redirect_http and not https:
            raise invalid(
                f"{prop}.redirect_http",
                True,
                "False without HTTPS (there is no HTTPS listener to redirect to): add a "
                "certificate, or domain_name + hosted_zone",
            )
        check_port(f"{prop}.http_port", http_port)
        check_port(f"{prop}.https_port", https_port)
        ports = [http_port] + ([https_port] if https else [])
        if test_listener_port is not None:
            check_port(f"{prop}.test_listener_port", test_listener_port)
            ports.append(test_listener_port)
        check_distinct(f"{prop} listener ports", ports, "listener ports")
        check_ssl_policy(f"{prop}.ssl_policy", ssl_policy)
        if access_logs_bucket is not None and not access_logs:
            raise invalid(f"{prop}.access_logs", False, "True when access_logs_bucket is given")
        expiry = access_logs_expiry or Duration.days(90)
        if access_logs and Token.is_unresolved(Stack.of(self).region):
            raise invalid(
                f"{prop}.access_logs",
                True,
                "False in a stack without a region (ALB access logs name the region's log "
                "delivery account): give the stack env=Environment(region=...)",
            )
        check_range(
            f"{prop}.access_logs_expiry (days)",
            whole(f"{prop}.access_logs_expiry (days)", expiry.to_days(integral=False), "days"),
            1,
        )
        peers = ingress_peers(
            f"{prop}.ingress",
            list(ingress_cidrs)
            if ingress_cidrs is not None
            else (["0.0.0.0/0"] if internet_facing else [vpc.vpc_cidr_block]),
            ingress_prefix_lists,
        )
        test_peers = ingress_peers(
            f"{prop}.test_ingress",
            list(test_ingress_cidrs) if test_ingress_cidrs is not None else [vpc.vpc_cidr_block],
            (),
        )

        self.internet_facing = internet_facing
        """Public (True) or internal."""
        self.https: bool = https
        """Whether the production listener is HTTPS."""
        self.certificate = dns_validated_certificate(
            self,
            prop,
            certificate=certificate,
            domain_name=domain_name,
            hosted_zone=hosted_zone,
            subject_alternative_names=subject_alternative_names,
        )
        """The HTTPS certificate (given or created), or None."""
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Load balancer: listener ports from the configured sources only",
            allow_all_outbound=False,
        )
        """The load balancer's security group."""
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Resource",
            vpc=vpc,
            internet_facing=internet_facing,
            security_group=self.security_group,
            vpc_subnets=vpc_subnets
            or (
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC) if internet_facing else None
            ),
            deletion_protection=deletion_protection,
            drop_invalid_header_fields=True,
            idle_timeout=idle_timeout,
        )
        """The Application Load Balancer."""

        not_found = elbv2.ListenerAction.fixed_response(
            404, content_type="text/plain", message_body="Not found"
        )
        certificates = (
            [elbv2.ListenerCertificate.from_certificate_manager(self.certificate)]
            if self.certificate
            else None
        )
        self.http_listener: elbv2.ApplicationListener | None = None
        """The port-80 listener: the production listener (HTTP) or the redirect (HTTPS)."""
        self.https_listener: elbv2.ApplicationListener | None = None
        if https:
            self.https_listener = self.load_balancer.add_listener(
                "Https",
                port=https_port,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=certificates,
                ssl_policy=ssl_policy,
                open=False,
                default_action=not_found,
            )
            if redirect_http is not False:
                self.http_listener = self.load_balancer.add_listener(
                    "Http",
                    port=http_port,
                    protocol=elbv2.ApplicationProtocol.HTTP,
                    open=False,
                    default_action=elbv2.ListenerAction.redirect(
                        protocol="HTTPS", port=str(https_port), permanent=True
                    ),
                )
        else:
            self.http_listener = self.load_balancer.add_listener(
                "Http",
                port=http_port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=not_found,
            )
        listener = self.https_listener or self.http_listener
        assert listener is not None
        self.listener: elbv2.ApplicationListener = listener
        """The production listener services add their rules to."""
        self.test_listener: elbv2.ApplicationListener | None = None
        """The test listener of blue/green deployments, or None."""
        if test_listener_port is not None:
            self.test_listener = self.load_balancer.add_listener(
                "Test",
                port=test_listener_port,
                protocol=(
                    elbv2.ApplicationProtocol.HTTPS if https else elbv2.ApplicationProtocol.HTTP
                ),
                certificates=certificates,
                ssl_policy=ssl_policy if https else None,
                open=False,
                default_action=not_found,
            )
        open_ports = [http_port] if self.http_listener else []
        open_ports += [https_port] if https else []
        for port in open_ports:
            for peer, label in peers:
                self.load_balancer.connections.allow_from(
                    peer, ec2.Port.tcp(port), f"listener {port} from {label}"
                )
        if test_listener_port is not None:
            for peer, label in test_peers:
                self.load_balancer.connections.allow_from(
                    peer, ec2.Port.tcp(test_listener_port), f"test listener from {label}"
                )

        self.access_logs_bucket: s3.IBucket | None = None
        """The bucket receiving access logs, or None."""
        if access_logs:
            self.access_logs_bucket = access_logs_bucket or s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,  # the only kind ALB logs support
                enforce_ssl=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=expiry)],
                removal_policy=removal_policy,
                auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
            )
            self.load_balancer.log_access_logs(self.access_logs_bucket, access_logs_prefix)

        self.dns_record: route53.ARecord | None = None
        """The alias record for ``domain_name``, or None."""
        if domain_name is not None and hosted_zone is not None and create_dns_record:
            self.dns_record = route53.ARecord(
                self,
                "AliasRecord",
                zone=hosted_zone,
                record_name=domain_name,
                target=route53.RecordTarget.from_alias(
                    route53_targets.LoadBalancerTarget(self.load_balancer)
                ),
            )
        self._priorities: dict[int, str] = {}

    @property
    def scheme_key(self) -> str:
        """``Public`` or ``Internal``: part of the services' target group ids."""
        return "Public" if self.internet_facing else "Internal"

    @property
    def load_balancer_dns_name(self) -> str:
        return self.load_balancer.load_balancer_dns_name

    def claim_priority(self, prop: str, priority: int, owner: str) -> None:
        """Reserve a listener rule priority for ``owner``; each priority is used once."""
        check_listener_priority(prop, priority)
        if priority in self._priorities:
            raise invalid(
                prop,
                priority,
                f"unique on load balancer {self.node.path!r} (already used by "
                f"{self._priorities[priority]!r}); pick another priority",
            )
        self._priorities[priority] = owner


# The props of WebService that configure its own load balancer (refused with a shared one).
_OWN_LB_PROPS: Final = (
    "internet_facing",
    "ingress_cidrs",
    "ingress_prefix_lists",
    "protocol",
    "certificate",
    "domain_name",
    "hosted_zone",
    "redirect_http",
    "ssl_policy",
    "test_listener_port",
    "deletion_protection",
    "access_logs",
    "access_logs_bucket",
)


class WebService(EcsServiceBase):
    """An HTTP(S) service behind an Application Load Balancer, on Fargate or EC2 capacity.

    What aws-ecs-patterns' ``ApplicationLoadBalanced*Service`` does, safe by default: 100 %
    min healthy and the circuit breaker with rollback on (``RollingDeployment``), target group
    health check and deregistration delay as props (30 s, not 300 s), the load balancer opened
    only on its listener ports to the configured sources, tasks reachable only from the load
    balancer on the container port, no DesiredCount rendered unless you set one, and native
    ECS blue/green, canary and linear deployments (``deployment=``).

    It creates its own :class:`WebLoadBalancer` (props ``internet_facing`` ... ``access_logs``
    below), or joins a shared one (``load_balancer=``) with a listener rule of its own (host
    and path conditions, a unique ``priority``).

    Attributes: ``service``, ``task_definition``, ``container``, ``log_group``,
    ``load_balancer`` (the :class:`WebLoadBalancer`), ``listener``, ``target_group``,
    ``alternate_target_group``, ``listener_rule``, ``test_listener_rule``,
    ``infrastructure_role``, ``connections``.
    """

    _KIND = "WebService"

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
        load_balancer: WebLoadBalancer | None = None,
        priority: int | None = None,
        host_headers: Sequence[str] = (),
        path_patterns: Sequence[str] = (),
        health_check_path: str = "/",
        health_check_interval: Duration | None = None,
        health_check_timeout: Duration | None = None,
        healthy_threshold_count: int = 2,
        unhealthy_threshold_count: int = 3,
        health_check_codes: str = "200-399",
        deregistration_delay: Duration | None = None,
        health_check_grace_period: Duration | None = None,
        internet_facing: bool | None = None,
        ingress_cidrs: Sequence[str] | None = None,
        ingress_prefix_lists: Sequence[str] | None = None,
        protocol: WebProtocol | None = None,
        certificate: acm.ICertificate | None = None,
        domain_name: str | None = None,
        hosted_zone: route53.IHostedZone | None = None,
        redirect_http: bool | None = None,
        ssl_policy: elbv2.SslPolicy | None = None,
        test_listener_port: int | None = None,
        deletion_protection: bool | None = None,
        access_logs: bool | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool = False,
        task_role: iam.IRole | None = None,
        execution_role: iam.IRole | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        enable_execute_command: bool = False,
        ephemeral_storage_gib: int | None = None,
    ) -> None:
        """Create the task definition, service, target group(s) and listener rule(s).

        :param cluster: the :class:`ComputeCluster` to run in.
        :param container: the main container; ``container.port`` receives the traffic.
        :param sidecars: more containers. Default: none.
        :param cpu: task CPU units. Default: 256. :param memory_mib: Default: 512.
        :param cpu_architecture: ``x86_64`` or ``arm64``; must match EC2 capacity.
            Default: ``x86_64``.
        :param capacity: the capacity provider strategy (``CapacityShare`` s of ``FARGATE``,
            ``FARGATE_SPOT`` or EC2 capacities of the cluster; Fargate and EC2 not mixed).
            Default: the cluster's default strategy.
        :param desired_count: tasks to run, rendered into the template, so every deploy resets
            the count to it. Default: not rendered (1 task at creation; then the running count,
            e.g. autoscaling's, is kept; see :meth:`auto_scale_task_count`).
        :param deployment: Default: ``RollingDeployment()``.
        :param load_balancer: a shared :class:`WebLoadBalancer`. Default: a new one, configured
            by the load balancer props below.
        :param priority: listener rule priority (1-50000, unique per load balancer). Default: 1
            on an own load balancer; required on a shared one.
        :param host_headers: rule condition on the Host header (up to 5). Default: any host.
        :param path_patterns: rule condition on the path (up to 5). Default: ``/*`` when no
            host header is given.
        :param health_check_path: target group health check path. Default: ``/``.
        :param health_check_interval: 5-300 s. Default: 15 seconds.
        :param health_check_timeout: 2-120 s, below the interval. Default: 5 seconds.
        :param healthy_threshold_count: 2-10. Default: 2.
        :param unhealthy_threshold_count: 2-10. Default: 3.
        :param health_check_codes: healthy HTTP codes. Default: ``200-399``.
        :param deregistration_delay: connection draining before a task is stopped, 0-3600 s.
            Default: 30 seconds (the ALB default of 300 s slows every deploy; aws-cdk 31529).
        :param health_check_grace_period: ignore failing health checks this long after a task
            starts. Default: 60 seconds.
        :param internet_facing: own load balancer: see :class:`WebLoadBalancer`. Default: True.
        :param ingress_cidrs: own load balancer. Default: ``0.0.0.0/0`` if internet-facing,
            else the VPC CIDR (listener ports only).
        :param ingress_prefix_lists: own load balancer. Default: none.
        :param protocol: own load balancer. Default: HTTPS with a certificate or domain.
        :param certificate: own load balancer. Default: none (or DNS-validated from the domain).
        :param domain_name: own load balancer. Default: none.
        :param hosted_zone: own load balancer. Default: none.
        :param redirect_http: own load balancer. Default: True with HTTPS.
        :param ssl_policy: own load balancer. Default: ``TLS13_12_RES_PQ``.
        :param test_listener_port: own load balancer. Default: none.
        :param deletion_protection: own load balancer. Default: True.
        :param access_logs: own load balancer. Default: True.
        :param access_logs_bucket: own load balancer. Default: a new bucket.
        :param vpc_subnets: where the tasks go. Default: the VPC's private subnets.
        :param assign_public_ip: Fargate tasks get a public IP (only in public subnets of a VPC
            without NAT or endpoints). Default: False.
        :param task_role: Default: a new role with no permissions.
        :param execution_role: Default: a new least-privilege role.
        :param log_retention: Default: one month. :param log_removal_policy: Default: RETAIN.
        :param enable_execute_command: allow ECS Exec into the tasks. Default: False.
        :param ephemeral_storage_gib: Fargate only, 21-200. Default: 20 GiB.
        """
        super().__init__(scope, construct_id)
        kind = self._KIND
        own_lb_props = {
            "internet_facing": internet_facing,
            "ingress_cidrs": ingress_cidrs,
            "ingress_prefix_lists": ingress_prefix_lists,
            "protocol": protocol,
            "certificate": certificate,
            "domain_name": domain_name,
            "hosted_zone": hosted_zone,
            "redirect_http": redirect_http,
            "ssl_policy": ssl_policy,
            "test_listener_port": test_listener_port,
            "deletion_protection": deletion_protection,
            "access_logs": access_logs,
            "access_logs_bucket": access_logs_bucket,
        }
        shared = load_balancer is not None
        if shared:
            given = [name for name in _OWN_LB_PROPS if own_lb_props[name] is not None]
            if given:
                raise invalid(
                    f"{kind}.{given[0]}",
                    own_lb_props[given[0]],
                    "unset with a shared load_balancer (configure the WebLoadBalancer instead)",
                )
            if priority is None:
                raise invalid(
                    f"{kind}.priority",
                    None,
                    "a listener rule priority (1-50000) when sharing a load balancer",
                )
        if container.port is None or container.protocol != "tcp":
            raise invalid(
                f"{kind}.container.port",
                container.port,
                "a TCP container port (the port the load balancer sends traffic to)",
            )
        rule_priority = 1 if priority is None else priority
        conditions = self._conditions(kind, host_headers, path_patterns)
        interval = health_check_interval or Duration.seconds(15)
        timeout = health_check_timeout or Duration.seconds(5)
        check_health_check_timing(
            f"{kind}.health_check",
            whole(f"{kind}.health_check_interval", interval.to_seconds(integral=False)),
            whole(f"{kind}.health_check_timeout", timeout.to_seconds(integral=False)),
        )
        check_range(f"{kind}.healthy_threshold_count", healthy_threshold_count, 2, 10)
        check_range(f"{kind}.unhealthy_threshold_count", unhealthy_threshold_count, 2, 10)
        check_http_codes(f"{kind}.health_check_codes", health_check_codes)
        if not health_check_path.startswith("/"):
            raise invalid(f"{kind}.health_check_path", health_check_path, "a path starting with /")
        delay = deregistration_delay or Duration.seconds(30)
        check_range(
            f"{kind}.deregistration_delay (seconds)",
            whole(f"{kind}.deregistration_delay", delay.to_seconds(integral=False)),
            0,
            3600,
        )

        if load_balancer is None:
            load_balancer = WebLoadBalancer(
                self,
                "LoadBalancer",
                vpc=cluster.cluster.vpc,
                **{k: v for k, v in own_lb_props.items() if v is not None},  # type: ignore[arg-type]
            )
        load_balancer.claim_priority(f"{kind}.priority", rule_priority, self.node.path)
        self.load_balancer: WebLoadBalancer = load_balancer
        """The :class:`WebLoadBalancer` (own or shared)."""

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
            allow_traffic_shifting=True,
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

        # The scheme (and a shared load balancer's id) is part of the target group ids: a
        # switch between public and internal replaces the target groups together with the load
        # balancer instead of failing on a group attached to two load balancers (aws-cdk 33253).
        key = load_balancer.scheme_key + (load_balancer.node.id if shared else "")

        def target_group(construct_id: str) -> elbv2.ApplicationTargetGroup:
            return elbv2.ApplicationTargetGroup(
                self,
                construct_id,
                vpc=cluster.cluster.vpc,
                port=container.port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.IP,
                deregistration_delay=delay,
                health_check=elbv2.HealthCheck(
                    path=health_check_path,
                    interval=interval,
                    timeout=timeout,
                    healthy_threshold_count=healthy_threshold_count,
                    unhealthy_threshold_count=unhealthy_threshold_count,
                    healthy_http_codes=health_check_codes,
                ),
            )

        self.target_group = target_group(f"TargetGroup{key}")
        """The production (blue) target group."""
        self.alternate_target_group: elbv2.ApplicationTargetGroup | None = None
        """The alternate (green) target group of blue/green, canary and linear, or None."""
        self.test_listener_rule: elbv2.ApplicationListenerRule | None = None
        """The rule on the load balancer's test listener, or None."""
        self.infrastructure_role: iam.Role | None = None
        """The role ECS uses to move listener rules during traffic shifting, or None."""
        self.listener: elbv2.ApplicationListener = load_balancer.listener
        """The production listener the service's rule is on."""

        if not self.deployment.shifts_traffic:
            self.listener_rule = elbv2.ApplicationListenerRule(
                self,
                "ListenerRule",
                listener=load_balancer.listener,
                priority=rule_priority,
                conditions=conditions,
                action=elbv2.ListenerAction.forward([self.target_group]),
            )
            """The service's rule on the production listener."""
            target = self.service.load_balancer_target(
                container_name=container.name, container_port=container.port
            )
        else:
            alternate = target_group(f"AlternateTargetGroup{key}")
            self.alternate_target_group = alternate
            # ECS moves the weights between the two groups during a deployment; both groups
            # are in the rule so it can.
            self.listener_rule = elbv2.ApplicationListenerRule(
                self,
                "ListenerRule",
                listener=load_balancer.listener,
                priority=rule_priority,
                conditions=conditions,
                action=_weighted(self.target_group, alternate),
            )
            if load_balancer.test_listener is not None:
                self.test_listener_rule = elbv2.ApplicationListenerRule(
                    self,
                    "TestListenerRule",
                    listener=load_balancer.test_listener,
                    priority=rule_priority,
                    conditions=conditions,
                    action=_weighted(alternate, self.target_group),
                )
            self.infrastructure_role = iam.Role(
                self,
                "InfrastructureRole",
                assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
                description="ECS moves this service's listener rules between target groups",
                managed_policies=[
                    iam.ManagedPolicy.from_aws_managed_policy_name(
                        "AmazonECSInfrastructureRolePolicyForLoadBalancers"
                    )
                ],
            )
            target = self.service.load_balancer_target(
                container_name=container.name,
                container_port=container.port,
                alternate_target=ecs.AlternateTarget(
                    "AlternateTarget",
                    alternate_target_group=alternate,
                    production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                        self.listener_rule
                    ),
                    test_listener=(
                        ecs.ListenerRuleConfiguration.application_listener_rule(
                            self.test_listener_rule
                        )
                        if self.test_listener_rule is not None
                        else None
                    ),
                    role=self.infrastructure_role,
                ),
            )
        # Registers the tasks and opens the tasks' security group to the load balancer's, on
        # the container port only.
        target.attach_to_application_target_group(self.target_group)

    def _request_count_target(self) -> elbv2.ApplicationTargetGroup | None:
        return None if self.deployment.shifts_traffic else self.target_group

    @property
    def target_groups(self) -> list[elbv2.ApplicationTargetGroup]:
        """The production target group, and the alternate one when traffic shifts."""
        groups = [self.target_group]
        if self.alternate_target_group is not None:
            groups.append(self.alternate_target_group)
        return groups

    def metric_request_count(self) -> cw.IMetric:
        """``AWS/ApplicationELB`` ``RequestCount`` of the service's target group(s), sum."""
        return metrics.alb_target_sum(
            "RequestCount", self.load_balancer.load_balancer, self.target_groups,
            label="Requests",
        )  # fmt: skip

    def metric_http_code_target_5xx_percent(self) -> cw.MathExpression:
        """``HTTPCode_Target_5XX_Count`` as a percentage of ``RequestCount`` (metric math)."""
        return metrics.alb_target_5xx_percent(self.load_balancer.load_balancer, self.target_groups)

    def metric_target_response_time(self, statistic: str = "p99") -> cw.IMetric:
        """``TargetResponseTime`` (seconds), p99 by default, the maximum over target groups."""
        return metrics.alb_target_max(
            "TargetResponseTime", self.load_balancer.load_balancer, self.target_groups,
            label=f"Target response time {statistic} (s)", statistic=statistic,
        )  # fmt: skip

    def metric_unhealthy_host_count(self) -> cw.IMetric:
        """``UnHealthyHostCount``, maximum, summed over the target groups."""
        return metrics.alb_target_sum(
            "UnHealthyHostCount", self.load_balancer.load_balancer, self.target_groups,
            label="Unhealthy hosts", statistic="Maximum",
        )  # fmt: skip

    @staticmethod
    def _conditions(
        kind: str, host_headers: Sequence[str], path_patterns: Sequence[str]
    ) -> list[elbv2.ListenerCondition]:
        check_rule_conditions(kind, host_headers, path_patterns)
        for i, host in enumerate(host_headers):
            check_domain_name(f"{kind}.host_headers[{i}]", host)
        for i, path in enumerate(path_patterns):
            if not path.startswith("/") or len(path) > 128:
                raise invalid(f"{kind}.path_patterns[{i}]", path, "a path pattern like '/api/*'")
        conditions = []
        if host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(host_headers)))
        if path_patterns or not host_headers:
            conditions.append(elbv2.ListenerCondition.path_patterns(list(path_patterns) or ["/*"]))
        return conditions


def _weighted(
    first: elbv2.IApplicationTargetGroup, second: elbv2.IApplicationTargetGroup
) -> elbv2.ListenerAction:
    return elbv2.ListenerAction.weighted_forward(
        [
            elbv2.WeightedTargetGroup(target_group=first, weight=100),
            elbv2.WeightedTargetGroup(target_group=second, weight=0),
        ]
    )
