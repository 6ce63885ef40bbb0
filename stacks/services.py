"""``ServiceStack``: every service listed in the environment's ``services`` configuration.

Web services share the environment's Application Load Balancers (``load_balancers``); each
network service gets its own Network Load Balancer. Where tasks run depends on the network:
with NAT or the image-pull endpoints (``Network.can_pull_images_privately``) Fargate tasks go
to the private subnets; without (the cheap dev VPC) they go to the public subnets with a public
IP, reachable only from their load balancer (their security group admits nothing else). EC2
tasks always use the private subnets: the instance's agent pulls the image.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from constructs_lib._service_base import EcsServiceBase
from constructs_lib.alarms import (
    EcsEventNotifications,
    NotificationTopic,
    ServiceAlarms,
    Threshold,
    ThresholdValue,
)
from constructs_lib.cluster import CapacityShare, ComputeCluster
from constructs_lib.daemon_service import DaemonService
from constructs_lib.dashboard import MonitoringDashboard
from constructs_lib.deployment import (
    BlueGreenDeployment,
    CanaryDeployment,
    Deployment,
    LinearDeployment,
    RollingDeployment,
)
from constructs_lib.image_repository import ImageRepository
from constructs_lib.network import Network
from constructs_lib.network_service import NetworkService
from constructs_lib.scaling import ScheduledCapacity, TaskScaling
from constructs_lib.scheduled_job import ScheduledJob
from constructs_lib.task import ContainerSpec, HealthCheck, ImageRef, SecretRef
from constructs_lib.web_service import WebLoadBalancer, WebService
from constructs_lib.worker_service import WorkerService
from stacks.config import (
    DEFAULT_TOOL_IMAGE,
    DEFAULT_WEB_IMAGE,
    AlarmsConfig,
    AutoscalingConfig,
    CapacityShareConfig,
    DaemonServiceConfig,
    DeploymentConfig,
    EnvironmentConfig,
    LoadBalancerConfig,
    NetworkServiceConfig,
    ScheduledJobConfig,
    WebServiceConfig,
    WorkerServiceConfig,
)
from stacks.platform import removal_policy, retention

_ServiceConfig = (
    WebServiceConfig
    | NetworkServiceConfig
    | WorkerServiceConfig
    | ScheduledJobConfig
    | DaemonServiceConfig
)


class ServiceStack(Stack):
    """The environment's load balancers and services; outputs load balancer DNS names, service
    names and queue URLs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: Network,
        cluster: ComputeCluster,
        repository: ImageRepository,
        name_prefix: str = "ecskit",
        **kwargs: Any,
    ) -> None:
        """:param name_prefix: ``<app>-<env>``: prefix of alarm names and the dashboard name."""
        super().__init__(scope, construct_id, **kwargs)
        self._prefix = name_prefix
        self._config = config
        self._cluster = cluster
        self._repository = repository
        private = network.can_pull_images_privately
        # Fargate tasks: private subnets when they can reach ECR and CloudWatch Logs from
        # there, else public subnets with a public IP (dev: no NAT, no interface endpoints).
        self._fargate_subnets = network.private_subnets if private else network.public_subnets
        self._fargate_public_ip = not private
        self._ec2_subnets = network.private_subnets
        self.tasks_in_public_subnets: bool = not private
        """Whether Fargate tasks run in the public subnets (with a public IP)."""

        self.load_balancers: dict[str, WebLoadBalancer] = {}
        """The shared Application Load Balancers by configured name."""
        lb_scope = Construct(self, "LoadBalancers")
        for name, lb in config.load_balancers.items():
            self.load_balancers[name] = self._load_balancer(lb_scope, name, lb, network)
            CfnOutput(
                self,
                f"{name}-load-balancer-dns",
                value=self.load_balancers[name].load_balancer_dns_name,
                description=f"DNS name of load balancer {name}",
            )
        self.services: dict[str, Construct] = {}
        """The services by configured name."""
        monitoring = Construct(self, "Monitoring")
        notifications = config.notifications
        self.topic = NotificationTopic(
            monitoring,
            "NotificationTopic",
            topic_arn=notifications.topic_arn,
            emails=notifications.emails,
        )
        """The environment's notification topic (alarms and ECS events)."""
        self.service_alarms: dict[str, ServiceAlarms] = {}
        """The alarms of each replica service, by configured name."""
        for name, svc in config.services.items():
            self.services[name] = self._service(name, svc)
        EcsEventNotifications(monitoring, "EcsEvents", cluster=cluster, topic=self.topic)
        self.dashboard = MonitoringDashboard(
            monitoring,
            "Dashboard",
            dashboard_name=name_prefix,
            services={
                n: s
                for n, s in self.services.items()
                if isinstance(s, EcsServiceBase) and not isinstance(s, DaemonService)
            },
            alarms=[a for alarms in self.service_alarms.values() for a in alarms.alarms.values()],
        )
        """The environment's CloudWatch dashboard."""
        CfnOutput(self, "notification-topic-arn", value=self.topic.topic.topic_arn,
                  description="SNS topic of alarms and ECS events")  # fmt: skip

    # --- load balancers ------------------------------------------------------------------------

    def _load_balancer(
        self, scope: Construct, name: str, lb: LoadBalancerConfig, network: Network
    ) -> WebLoadBalancer:
        return WebLoadBalancer(
            scope,
            name,
            vpc=network.vpc,
            internet_facing=lb.internet_facing,
            ingress_cidrs=lb.ingress_cidrs,
            ingress_prefix_lists=lb.ingress_prefix_lists,
            protocol=lb.protocol,
            certificate=_certificate(scope, name, lb.certificate_arn),
            domain_name=lb.domain_name,
            subject_alternative_names=lb.subject_alternative_names,
            hosted_zone=_hosted_zone(scope, name, lb.hosted_zone_id, lb.hosted_zone_name),
            redirect_http=lb.redirect_http,
            http_port=lb.http_port,
            https_port=lb.https_port,
            test_listener_port=lb.test_listener_port,
            test_ingress_cidrs=lb.test_ingress_cidrs,
            deletion_protection=lb.deletion_protection,
            access_logs=lb.access_logs,
            access_logs_expiry=Duration.days(lb.access_logs_expiry_days),
            removal_policy=removal_policy(self._config.registry.removal_policy),
            idle_timeout=(
                Duration.seconds(lb.idle_timeout_seconds) if lb.idle_timeout_seconds else None
            ),
        )

    # --- services ------------------------------------------------------------------------------

    def _service(self, name: str, svc: _ServiceConfig) -> Construct:
        common = self._common(name, svc)
        if isinstance(svc, DaemonServiceConfig):
            daemon = DaemonService(
                self,
                name,
                cpu_architecture=svc.cpu_architecture,
                capacity=svc.ec2_capacity,
                network_mode=svc.network_mode,
                min_healthy_percent=svc.min_healthy_percent,
                **common,
            )
            self._output(name, "service-name", daemon.service_name, "ECS service")
            return daemon
        fargate = self._is_fargate(svc.capacity)
        placement: dict[str, Any] = {
            "capacity": _shares(svc.capacity),
            "cpu_architecture": svc.cpu_architecture,
            "vpc_subnets": self._fargate_subnets if fargate else self._ec2_subnets,
            "assign_public_ip": self._fargate_public_ip and fargate,
            "ephemeral_storage_gib": svc.ephemeral_storage_gib,
        }
        if isinstance(svc, ScheduledJobConfig):
            job = ScheduledJob(
                self,
                name,
                schedule=svc.schedule,
                time_zone=svc.time_zone,
                enabled=svc.enabled,
                task_count=svc.task_count,
                retry_attempts=svc.retry_attempts,
                max_event_age=Duration.seconds(svc.max_event_age_seconds),
                vpc_subnets=(
                    ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
                    if placement["assign_public_ip"]
                    else placement["vpc_subnets"]
                ),
                **{k: v for k, v in placement.items() if k != "vpc_subnets"},
                **common,
            )
            self._output(name, "schedule-name", job.schedule.schedule_name, "EventBridge schedule")
            return job
        replica: dict[str, Any] = {
            **placement,
            "desired_count": svc.desired_count,
            "deployment": _deployment(svc.deployment),
            **common,
        }
        service: WebService | NetworkService | WorkerService
        if isinstance(svc, WebServiceConfig):
            service = WebService(
                self,
                name,
                load_balancer=self.load_balancers[svc.load_balancer],
                priority=svc.priority,
                host_headers=svc.host_headers,
                path_patterns=svc.path_patterns,
                health_check_path=svc.health_check_path,
                health_check_interval=Duration.seconds(svc.health_check_interval_seconds),
                health_check_timeout=Duration.seconds(svc.health_check_timeout_seconds),
                healthy_threshold_count=svc.healthy_threshold_count,
                unhealthy_threshold_count=svc.unhealthy_threshold_count,
                health_check_codes=svc.health_check_codes,
                deregistration_delay=Duration.seconds(svc.deregistration_delay_seconds),
                health_check_grace_period=Duration.seconds(svc.health_check_grace_period_seconds),
                **replica,
            )
        elif isinstance(svc, NetworkServiceConfig):
            service = NetworkService(
                self,
                name,
                protocol=svc.protocol,
                listener_port=svc.listener_port,
                internet_facing=svc.internet_facing,
                # Default (internal): the VPC's CIDR, written literally (not a reference to the
                # VPC's CidrBlock) so that checkers such as cdk-nag EC23 see it is not open.
                ingress_cidrs=(
                    svc.ingress_cidrs
                    if svc.ingress_cidrs is not None
                    else [self._config.network.cidr]
                ),
                certificate=_certificate(self, name, svc.certificate_arn),
                domain_name=svc.domain_name,
                hosted_zone=_hosted_zone(self, name, svc.hosted_zone_id, svc.hosted_zone_name),
                preserve_client_ip=svc.preserve_client_ip,
                health_check_protocol=svc.health_check_protocol,
                health_check_path=svc.health_check_path,
                health_check_port=svc.health_check_port,
                deregistration_delay=Duration.seconds(svc.deregistration_delay_seconds),
                deletion_protection=svc.deletion_protection,
                **replica,
            )
            self._output(
                name, "load-balancer-dns", service.load_balancer.load_balancer_dns_name, "NLB"
            )
        else:
            queue = svc.queue
            service = WorkerService(
                self,
                name,
                queue=queue is not None,
                queue_visibility_timeout=(
                    Duration.seconds(queue.visibility_timeout_seconds) if queue else None
                ),
                queue_retention=Duration.days(queue.retention_days) if queue else None,
                max_receive_count=queue.max_receive_count if queue else 5,
                **replica,
            )
            if service.queue is not None:
                self._output(name, "queue-url", service.queue.queue_url, "SQS queue")
        if svc.autoscaling is not None:
            service.configure_scaling(self._scaling(svc.autoscaling))
        if svc.alarms.enabled:
            self.service_alarms[name] = ServiceAlarms(
                self,
                f"{name}-alarms",
                service=service,
                alarm_name_prefix=f"{self._prefix}-{name}",
                topic=self.topic,
                thresholds=_thresholds(svc.alarms),
                rollback_on_alarm=svc.alarms.rollback_on_alarm,
            )
        self._output(name, "service-name", service.service_name, "ECS service")
        return service

    def _scaling(self, cfg: AutoscalingConfig) -> TaskScaling:
        return TaskScaling(
            min_tasks=cfg.min_tasks,
            max_tasks=cfg.max_tasks,
            max_tasks_ceiling=self._config.max_tasks_per_service,
            target_cpu_percent=cfg.target_cpu_percent,
            target_memory_percent=cfg.target_memory_percent,
            requests_per_target=cfg.requests_per_target,
            queue_backlog_per_task=cfg.queue_backlog_per_task,
            scale_in_cooldown=Duration.seconds(cfg.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(cfg.scale_out_cooldown_seconds),
            schedules=tuple(
                ScheduledCapacity(
                    name=s.name,
                    schedule=s.schedule,
                    min_tasks=s.min_tasks,
                    max_tasks=s.max_tasks,
                    time_zone=s.time_zone,
                )
                for s in cfg.schedules
            ),
        )

    def _common(self, name: str, svc: _ServiceConfig) -> dict[str, Any]:
        """Props every pattern takes: cluster, container, size, logs, ECS Exec."""
        return {
            "cluster": self._cluster,
            "container": self._container(name, svc),
            "cpu": svc.cpu,
            "memory_mib": svc.memory_mib,
            "log_retention": retention(svc.log_retention_days),
            "log_removal_policy": removal_policy(self._config.registry.removal_policy),
            "enable_execute_command": svc.enable_execute_command,
        }

    def _container(self, name: str, svc: _ServiceConfig) -> ContainerSpec:
        if svc.image_tag is not None or svc.image_digest is not None:
            image = ImageRef.from_repository(
                self._repository, tag=svc.image_tag, digest=svc.image_digest
            )
        else:
            default = (
                DEFAULT_WEB_IMAGE
                if isinstance(svc, WebServiceConfig | NetworkServiceConfig)
                else DEFAULT_TOOL_IMAGE
            )
            image = ImageRef.from_registry(svc.image or default)
        secrets = {}
        for var, ref in svc.secrets.items():
            if ref.secrets_manager is not None:
                secret = _secret(self, f"{name}-secret-{var}", ref.secrets_manager)
                secrets[var] = SecretRef.secrets_manager(secret, ref.field)
            elif ref.ssm_parameter is not None:
                parameter = ssm.StringParameter.from_secure_string_parameter_attributes(
                    self, f"{name}-parameter-{var}", parameter_name=ref.ssm_parameter
                )
                secrets[var] = SecretRef.ssm_parameter(parameter)
        health = svc.health_check
        return ContainerSpec(
            image=image,
            port=svc.port,
            protocol=(
                "udp" if isinstance(svc, NetworkServiceConfig) and svc.protocol == "UDP" else "tcp"
            ),
            extra_ports=(),
            environment=dict(svc.environment),
            secrets=secrets,
            command=tuple(svc.command) if svc.command is not None else None,
            entry_point=tuple(svc.entry_point) if svc.entry_point is not None else None,
            health_check=(
                HealthCheck(
                    command=tuple(health.command),
                    interval=Duration.seconds(health.interval_seconds),
                    timeout=Duration.seconds(health.timeout_seconds),
                    retries=health.retries,
                    start_period=Duration.seconds(health.start_period_seconds),
                )
                if health is not None
                else None
            ),
        )

    def _is_fargate(self, capacity: list[CapacityShareConfig] | None) -> bool:
        shares = _shares(capacity) or self._cluster.default_capacity_shares
        return ComputeCluster.is_fargate_strategy(shares)

    def _output(self, name: str, what: str, value: str, description: str) -> None:
        CfnOutput(self, f"{name}-{what}", value=value, description=f"{description} of {name}")


def _hosted_zone(
    scope: Construct, name: str, zone_id: str | None, zone_name: str | None
) -> route53.IHostedZone | None:
    """The configured Route 53 zone of ``name`` (``<name>-zone``, no lookup), or None."""
    if not (zone_id and zone_name):
        return None
    return route53.HostedZone.from_hosted_zone_attributes(
        scope, f"{name}-zone", hosted_zone_id=zone_id, zone_name=zone_name
    )


def _certificate(scope: Construct, name: str, arn: str | None) -> acm.ICertificate | None:
    """The configured ACM certificate of ``name`` (``<name>-certificate``), or None."""
    return acm.Certificate.from_certificate_arn(scope, f"{name}-certificate", arn) if arn else None


def _thresholds(cfg: AlarmsConfig) -> dict[str, dict[str, ThresholdValue]]:
    result: dict[str, dict[str, ThresholdValue]] = {}
    for severity in ("warning", "critical"):
        values: dict[str, ThresholdValue] = {}
        for name, value in getattr(cfg, severity).items():
            values[name] = (
                None
                if value is None
                else Threshold(float(value.threshold), value.evaluation_periods, value.datapoints)
            )
        result[severity] = values
    return result


def _shares(capacity: list[CapacityShareConfig] | None) -> list[CapacityShare] | None:
    if capacity is None:
        return None
    return [CapacityShare(s.provider, s.weight, s.base) for s in capacity]


def _deployment(cfg: DeploymentConfig) -> Deployment:
    common: dict[str, Any] = {
        "min_healthy_percent": cfg.min_healthy_percent,
        "max_healthy_percent": cfg.max_healthy_percent,
        "alarm_names": tuple(cfg.alarm_names),
        "rollback_on_alarm": cfg.rollback_on_alarm,
    }
    if cfg.type == "rolling":
        return RollingDeployment(
            availability_zone_rebalancing=cfg.availability_zone_rebalancing,
            bake_time=(
                Duration.minutes(cfg.bake_time_minutes)
                if cfg.bake_time_minutes is not None
                else None
            ),
            **common,
        )
    common["bake_time"] = Duration.minutes(
        15 if cfg.bake_time_minutes is None else cfg.bake_time_minutes
    )
    if cfg.type == "blue_green":
        return BlueGreenDeployment(**common)
    if cfg.type == "canary":
        return CanaryDeployment(
            step_percent=5.0 if cfg.step_percent is None else cfg.step_percent,
            step_bake_time=Duration.minutes(
                10 if cfg.step_bake_time_minutes is None else cfg.step_bake_time_minutes
            ),
            **common,
        )
    return LinearDeployment(
        step_percent=10.0 if cfg.step_percent is None else cfg.step_percent,
        step_bake_time=Duration.minutes(
            6 if cfg.step_bake_time_minutes is None else cfg.step_bake_time_minutes
        ),
        **common,
    )


def _secret(scope: Construct, construct_id: str, reference: str) -> secretsmanager.ISecret:
    """A secret by name, partial ARN or complete ARN (with the 6-character suffix)."""
    if not reference.startswith("arn:"):
        return secretsmanager.Secret.from_secret_name_v2(scope, construct_id, reference)
    name = reference.split(":secret:", 1)[-1]
    if len(name) > 7 and name[-7] == "-":
        return secretsmanager.Secret.from_secret_complete_arn(scope, construct_id, reference)
    return secretsmanager.Secret.from_secret_partial_arn(scope, construct_id, reference)
