"""Typed per-environment configuration of the ecskit app, read from ``cdk.json`` context.

The context key ``ecskit`` holds the app settings and one entry per environment::

    "ecskit": {
      "app": "ecskit", "owner": "platform-team", "default_environment": "dev",
      "environments": {"dev": {...}, "prod": {...}}
    }

``cdk synth -c env=prod`` picks an environment. Everything is validated here, before any
construct is built: unknown keys, wrong types and out-of-range values each produce one line
naming the key path, the value and what is allowed (see :class:`ConfigError`).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from constructs_lib import _validate as rules
from constructs_lib.errors import EcskitValidationError

_T = TypeVar("_T")
CONTEXT_KEY = "ecskit"
ENV_CONTEXT_KEY = "env"

# CloudWatch Logs retention values (days) that CloudFormation accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
ENDPOINTS = Literal[
    "s3", "dynamodb", "ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages",
    "ecs", "sts", "kms",
]  # fmt: skip
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"


@dataclass(frozen=True)
class Problem:
    """One invalid value of the configuration.

    ``path`` is the dotted key path of the offending key below ``root`` (list indexes as
    numbers, e.g. ``environments.dev.services.web.memory_mib``; ``""`` for ``root`` itself).
    For an unknown key it is that key's path, for a missing key the path it must be added at,
    and for a value the configuration left at its default the path to set it at. ``value`` is
    the value given (``None`` for a missing key) and ``message`` names that value and the fix.
    ``str(problem)`` is the one-line form ``ecskit.<path>: <message>``.
    """

    path: str
    value: Any
    message: str
    root: str = CONTEXT_KEY
    """The context key the path starts at: ``ecskit``, or ``env`` for ``-c env=NAME``."""

    @property
    def key(self) -> str:
        """``root`` and ``path`` joined: what the printed line starts with."""
        return f"{self.root}.{self.path}" if self.path else self.root

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid: ``problems`` lists every :class:`Problem` found (all at
    once, in key order); ``str(err)`` is a header and one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            "invalid ecskit configuration:\n" + "\n".join(f"  - {p}" for p in problems)
        )


class _ProblemError(ValueError):
    """Raised inside a validator: a problem at ``path`` (dotted, relative to the model or field
    being validated). Pydantic keeps the exception in the error's context and
    :func:`_describe` appends ``path`` to the error's location."""

    def __init__(self, path: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.value = value
        self.message = message


def _fail(path: str, value: Any, fix: str) -> _ProblemError:
    """``<path>: got <value>; <fix>`` for a rule that spans several keys."""
    return _ProblemError(path, value, f"got {value!r}; {fix}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NetworkConfig(_Model):
    """``environments.<env>.network``: the VPC (see ``constructs_lib.Network``)."""

    cidr: str = "10.0.0.0/16"
    max_azs: Annotated[int, Field(ge=2, le=3)] = 2
    nat_gateways: Annotated[int, Field(ge=0, le=3)] = 1
    public_subnet_mask: Annotated[int, Field(ge=16, le=28)] = 24
    private_subnet_mask: Annotated[int, Field(ge=16, le=28)] = 20
    isolated_subnets: bool = False
    isolated_subnet_mask: Annotated[int, Field(ge=16, le=28)] = 24
    flow_logs: bool = True
    flow_log_retention_days: int = 30
    endpoints: list[ENDPOINTS] = Field(default_factory=list)

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return _rule(rules.check_cidr, value)

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {list(LOG_RETENTION_DAYS)}")
        return value

    @field_validator("endpoints")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        for i, endpoint in enumerate(value):
            if endpoint in value[:i]:
                raise _fail(str(i), endpoint, "must not list an endpoint twice")
        return value

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.nat_gateways > self.max_azs:
            raise _fail(
                "nat_gateways",
                self.nat_gateways,
                f"must be <= max_azs ({self.max_azs}): at most one NAT gateway per AZ",
            )
        masks = {"public_subnet_mask": self.public_subnet_mask}
        masks["private_subnet_mask"] = self.private_subnet_mask
        if self.isolated_subnets:
            masks["isolated_subnet_mask"] = self.isolated_subnet_mask
        _check(rules.check_subnets_fit, "cidr", self.cidr, self.max_azs, masks, owner=self)
        return self


class RegistryConfig(_Model):
    """``environments.<env>.registry``: the ECR repository (see ``ImageRepository``)."""

    repository_name: str | None = None
    scan_on_push: bool = True
    immutable_tags: bool = True
    untagged_expiry_days: Annotated[int, Field(ge=1, le=3650)] = 7
    max_image_count: Annotated[int, Field(ge=1, le=10_000)] = 50
    encryption: Literal["AES256", "KMS"] = "AES256"
    removal_policy: Literal["retain", "destroy"] = "retain"
    pull_account_ids: list[str] = Field(default_factory=list)

    @field_validator("repository_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", value
        ):
            raise ValueError("must be lower-case letters, digits and . _ - / (e.g. 'team/app')")
        return value

    @field_validator("pull_account_ids")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        _each(rules.check_account, value)
        return value


class Ec2CapacityConfig(_Model):
    """``environments.<env>.cluster.ec2_capacity[i]``: one Auto Scaling group capacity."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    instance_types: Annotated[list[str], Field(min_length=1, max_length=20)]
    min_capacity: Annotated[int, Field(ge=0)] = 0
    max_capacity: Annotated[int, Field(ge=1, le=1000)]
    on_demand_base_capacity: Annotated[int, Field(ge=0)] = 0
    on_demand_percentage_above_base: Annotated[int, Field(ge=0, le=100)] = 100
    machine_image: Literal["al2023", "bottlerocket"] = "al2023"
    target_capacity_percent: Annotated[int, Field(ge=1, le=100)] = 100
    managed_termination_protection: bool = True
    root_volume_size_gib: Annotated[int, Field(ge=8, le=16_384)] = 30
    container_stop_timeout_seconds: Annotated[int, Field(ge=1, le=120)] = 30
    image_pull_behavior: Literal["default", "always", "once", "prefer-cached"] = "default"
    public_ip: bool = False

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        _check(lambda prop, v: rules.common_architecture(v, prop=prop), "", value, owner=value)
        return value

    @model_validator(mode="after")
    def _min_max(self) -> Self:
        if self.min_capacity > self.max_capacity:
            raise _fail(
                "min_capacity", self.min_capacity, f"must be <= max_capacity ({self.max_capacity})"
            )
        return self

    @property
    def architecture(self) -> rules.Architecture:
        return rules.common_architecture(self.instance_types, prop="instance_types")


class CapacityShareConfig(_Model):
    """One ``{provider, weight, base}`` entry of a capacity provider strategy."""

    provider: str
    weight: Annotated[int, Field(ge=0, le=1000)] = 1
    base: Annotated[int, Field(ge=0, le=100_000)] = 0


class ClusterConfig(_Model):
    """``environments.<env>.cluster``: the ECS cluster (see ``ComputeCluster``)."""

    cluster_name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,255}$")] | None = None
    container_insights: Literal["enhanced", "enabled", "disabled"] = "enhanced"
    enable_fargate: bool = True
    ec2_capacity: list[Ec2CapacityConfig] = Field(default_factory=list)
    default_capacity_provider_strategy: list[CapacityShareConfig] = Field(
        default_factory=lambda: [CapacityShareConfig(provider="FARGATE")]
    )

    @property
    def provider_names(self) -> list[str]:
        fargate = ["FARGATE", "FARGATE_SPOT"] if self.enable_fargate else []
        return [*fargate, *(c.name for c in self.ec2_capacity)]

    @model_validator(mode="after")
    def _providers(self) -> Self:
        names = [c.name for c in self.ec2_capacity]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _fail(
                    f"ec2_capacity.{i}.name", name, f"ec2_capacity names must be distinct: {names}"
                )
        _check_strategy(
            "default_capacity_provider_strategy",
            self.default_capacity_provider_strategy,
            self.provider_names,
            subject="default_capacity_provider_strategy",
        )
        return self


# --- services ---------------------------------------------------------------------------------

SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
SERVICE_KINDS = ("web", "network", "worker", "scheduled", "daemon")
DEFAULT_WEB_IMAGE = "public.ecr.aws/nginx/nginx:stable"
DEFAULT_TOOL_IMAGE = "public.ecr.aws/docker/library/busybox:stable"
Port = Annotated[int, Field(ge=1, le=65535)]


def _sources(value: list[str] | None) -> list[str] | None:
    return _each(rules.check_ingress_source, value)


class SecretConfig(_Model):
    """One entry of ``secrets``: a Secrets Manager secret (name or ARN, optionally one JSON
    ``field``) or an SSM parameter name; exactly one of the two."""

    secrets_manager: Annotated[str, Field(min_length=1)] | None = None
    field: Annotated[str, Field(min_length=1)] | None = None
    ssm_parameter: Annotated[str, Field(pattern=r"^/?[A-Za-z0-9_.\-/]{1,2048}$")] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.secrets_manager is None) == (self.ssm_parameter is None):
            both = self.secrets_manager is not None
            raise _fail(
                "ssm_parameter" if both else "secrets_manager",
                self.ssm_parameter if both else None,
                "give exactly one of secrets_manager or ssm_parameter",
            )
        if self.field is not None and self.secrets_manager is None:
            raise _fail("field", self.field, "field only applies to a secrets_manager secret")
        return self


class ContainerHealthCheckConfig(_Model):
    """``health_check`` of a service's container (Docker HEALTHCHECK run by ECS)."""

    command: Annotated[list[str], Field(min_length=2)]
    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 30
    timeout_seconds: Annotated[int, Field(ge=2, le=60)] = 5
    retries: Annotated[int, Field(ge=1, le=10)] = 3
    start_period_seconds: Annotated[int, Field(ge=0, le=300)] = 0

    @field_validator("command")
    @classmethod
    def _prefix(cls, value: list[str]) -> list[str]:
        if value[0] not in ("CMD", "CMD-SHELL"):
            raise _fail(
                "0", value[0], "must be 'CMD' or 'CMD-SHELL', e.g. ['CMD-SHELL', 'curl ...']"
            )
        return value


class DeploymentConfig(_Model):
    """``deployment``: ``type`` rolling (default), blue_green, canary or linear."""

    type: Literal["rolling", "blue_green", "canary", "linear"] = "rolling"
    min_healthy_percent: Annotated[int, Field(ge=0, le=100)] = 100
    max_healthy_percent: Annotated[int, Field(ge=100, le=400)] = 200
    alarm_names: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list
    )
    rollback_on_alarm: bool = True
    availability_zone_rebalancing: bool = True
    bake_time_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    step_percent: Annotated[float, Field(allow_inf_nan=False)] | None = None
    step_bake_time_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None

    @property
    def shifts_traffic(self) -> bool:
        return self.type != "rolling"

    @model_validator(mode="after")
    def _rules(self) -> Self:
        _check(
            rules.check_healthy_percents,
            "",
            self.min_healthy_percent,
            self.max_healthy_percent,
            owner=self,
        )
        is_set = self.model_fields_set
        if self.type not in ("canary", "linear"):
            for key in ("step_percent", "step_bake_time_minutes"):
                if key in is_set:
                    raise _fail(
                        key,
                        getattr(self, key),
                        f"{key} applies to type canary or linear, not {self.type}",
                    )
        if self.type == "rolling":
            _check(
                rules.check_az_rebalancing,
                "",
                self.availability_zone_rebalancing,
                self.max_healthy_percent,
                owner=self,
            )
            return self
        if "availability_zone_rebalancing" in is_set:
            raise _fail(
                "availability_zone_rebalancing",
                self.availability_zone_rebalancing,
                f"availability_zone_rebalancing applies to type rolling only, not {self.type}",
            )
        bake = 15 if self.bake_time_minutes is None else self.bake_time_minutes
        total = "bake_time_minutes + step_bake_time_minutes"
        # A too long deployment is reported at the first bake/step key the configuration sets.
        keys = ("step_bake_time_minutes", "bake_time_minutes", "step_percent")
        at = next((key for key in keys if key in is_set), "type")
        if self.type == "canary":
            percent = 5.0 if self.step_percent is None else self.step_percent
            step = 10 if self.step_bake_time_minutes is None else self.step_bake_time_minutes
            _check(rules.check_traffic_shift_percent, "step_percent", percent, 0.1)
            _check(rules.check_deployment_duration, total, bake + step, owner=self, at=at)
        elif self.type == "linear":
            percent = 10.0 if self.step_percent is None else self.step_percent
            step = 6 if self.step_bake_time_minutes is None else self.step_bake_time_minutes
            _check(rules.check_traffic_shift_percent, "step_percent", percent, 3.0)
            steps = -(-1000 // round(percent * 10))  # ceil(100 / percent)
            _check(
                rules.check_deployment_duration,
                f"{total} x {steps} steps",
                bake + step * steps,
                owner=self,
                at=at,
            )
        return self


class ScheduledScalingConfig(_Model):
    """``autoscaling.schedules[]``: a scheduled change of the scaling range."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    schedule: str
    time_zone: str | None = None
    min_tasks: Annotated[int, Field(ge=0, le=10_000)]
    max_tasks: Annotated[int, Field(ge=1, le=10_000)]

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _rule(rules.check_cron, value)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.check_time_zone, value)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_tasks > self.max_tasks:
            raise _fail("min_tasks", self.min_tasks, f"must be <= max_tasks ({self.max_tasks})")
        return self


class AutoscalingConfig(_Model):
    """``autoscaling``: Application Auto Scaling owns the task count (no DesiredCount)."""

    min_tasks: Annotated[int, Field(ge=0, le=10_000)]
    max_tasks: Annotated[int, Field(ge=1, le=10_000)]
    target_cpu_percent: Annotated[int, Field(ge=1, le=100)] | None = 60
    target_memory_percent: Annotated[int, Field(ge=1, le=100)] | None = None
    requests_per_target: Annotated[int, Field(ge=1)] | None = None
    queue_backlog_per_task: Annotated[int, Field(ge=1)] | None = None
    scale_in_cooldown_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300
    scale_out_cooldown_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60
    schedules: list[ScheduledScalingConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_tasks > self.max_tasks:
            raise _fail("min_tasks", self.min_tasks, f"must be <= max_tasks ({self.max_tasks})")
        names = [s.name for s in self.schedules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _fail(f"schedules.{i}.name", name, f"schedules names must be unique: {names}")
        return self


AlarmThresholdName = Literal[
    "max_cpu_percent", "max_memory_percent", "min_running_tasks_percent", "max_5xx_percent",
    "max_elb_5xx_count", "max_p99_latency_ms", "max_unhealthy_hosts", "max_rejected_connections",
    "max_tcp_resets", "max_queue_age_seconds", "max_dlq_messages",
]  # fmt: skip


class ThresholdConfig(_Model):
    """A threshold with its own evaluation window (1-minute periods)."""

    threshold: Annotated[float, Field(allow_inf_nan=False)] | int
    evaluation_periods: Annotated[int, Field(ge=1, le=1440)] | None = None
    datapoints: Annotated[int, Field(ge=1, le=1440)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _number(cls, data: Any) -> Any:
        """A bare number is the threshold with the alarm's default window."""
        if isinstance(data, int | float) and not isinstance(data, bool):
            return {"threshold": data}
        return data

    @model_validator(mode="after")
    def _window(self) -> Self:
        if (
            self.evaluation_periods is not None
            and self.datapoints is not None
            and self.datapoints > self.evaluation_periods
        ):
            raise _fail(
                "evaluation_periods",
                self.evaluation_periods,
                f"must be >= datapoints ({self.datapoints}): an alarm cannot need more "
                "breaching datapoints than it evaluates",
            )
        return self


_ThresholdValue = ThresholdConfig | None


class AlarmsConfig(_Model):
    """``alarms``: threshold overrides by severity (null turns an alarm off) and whether the
    critical bad-release alarms roll deployments back."""

    enabled: bool = True
    warning: dict[AlarmThresholdName, _ThresholdValue] = Field(default_factory=dict)
    critical: dict[AlarmThresholdName, _ThresholdValue] = Field(default_factory=dict)
    rollback_on_alarm: bool | None = None

    @model_validator(mode="after")
    def _values(self) -> Self:
        for severity in ("warning", "critical"):
            for name, value in getattr(self, severity).items():
                if value is not None:
                    _check(
                        rules.check_threshold,
                        severity,
                        name,
                        value.threshold,
                        value=value.threshold,
                    )

        return self


class NotificationsConfig(_Model):
    """``notifications``: the environment's SNS topic (created unless ``topic_arn``)."""

    topic_arn: (
        Annotated[
            str, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")
        ]
        | None
    ) = None
    emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list
    )


class _ServiceBase(_Model):
    """Keys every kind of service accepts."""

    image: Annotated[str, Field(min_length=1, pattern=r"^\S+$")] | None = None
    image_tag: str | None = None
    image_digest: str | None = None
    cpu: int = 256
    memory_mib: int = 512
    cpu_architecture: Literal["x86_64", "arm64"] = "x86_64"
    port: Port | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, SecretConfig] = Field(default_factory=dict)
    command: list[str] | None = None
    entry_point: list[str] | None = None
    health_check: ContainerHealthCheckConfig | None = None
    log_retention_days: int = 30
    enable_execute_command: bool = False

    @field_validator("environment", "secrets")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            _check(rules.check_env_names, name, [name], at=name, value=name)
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of {list(LOG_RETENTION_DAYS)}")
        return value

    @model_validator(mode="after")
    def _image(self) -> Self:
        if self.image is not None and (self.image_tag or self.image_digest):
            key = "image_tag" if self.image_tag else "image_digest"
            raise _fail(
                key,
                getattr(self, key),
                "give image (a registry reference) or image_tag/image_digest (the "
                "environment's ECR repository), not both",
            )
        if self.image_tag is not None or self.image_digest is not None:
            _check(
                rules.check_image_reference,
                "image_tag/image_digest",
                self.image_tag,
                self.image_digest,
                "image_tag",
                "image_digest",
                owner=self,
                at="image_digest",
            )
        both = sorted(set(self.environment) & set(self.secrets))
        if both:
            raise _fail(
                f"secrets.{both[0]}",
                both[0],
                f"secrets {both} are also set in environment; keep one",
            )
        return self


class _ReplicaService(_ServiceBase):
    """Keys of services with a desired count (web, network, worker)."""

    capacity: list[CapacityShareConfig] | None = None
    desired_count: Annotated[int, Field(ge=0)] | None = None
    autoscaling: AutoscalingConfig | None = None
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)
    ephemeral_storage_gib: Annotated[int, Field(ge=21, le=200)] | None = None

    @model_validator(mode="after")
    def _count(self) -> Self:
        if self.desired_count is not None and self.autoscaling is not None:
            raise _fail(
                "desired_count",
                self.desired_count,
                "desired_count must be unset when autoscaling owns the task count (a rendered "
                "DesiredCount resets it on every deploy); use autoscaling.min_tasks",
            )
        return self


class WebServiceConfig(_ReplicaService):
    """``kind: web``: a service behind an ALB of ``load_balancers``."""

    kind: Literal["web"]
    port: Port = 80
    load_balancer: str
    priority: Annotated[int, Field(ge=1, le=50_000)]
    host_headers: Annotated[list[str], Field(max_length=3)] = Field(default_factory=list)
    path_patterns: Annotated[
        list[Annotated[str, Field(pattern=r"^/\S{0,127}$")]], Field(max_length=3)
    ] = Field(default_factory=list)
    health_check_path: Annotated[str, Field(pattern=r"^/\S*$")] = "/"
    health_check_interval_seconds: Annotated[int, Field(ge=5, le=300)] = 15
    health_check_timeout_seconds: Annotated[int, Field(ge=2, le=120)] = 5
    healthy_threshold_count: Annotated[int, Field(ge=2, le=10)] = 2
    unhealthy_threshold_count: Annotated[int, Field(ge=2, le=10)] = 3
    health_check_codes: str = "200-399"
    deregistration_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    health_check_grace_period_seconds: Annotated[int, Field(ge=0)] = 60

    @field_validator("host_headers")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        _each(rules.check_domain_name, value)
        return value

    @field_validator("health_check_codes")
    @classmethod
    def _codes(cls, value: str) -> str:
        return _rule(rules.check_http_codes, value)

    @model_validator(mode="after")
    def _conditions(self) -> Self:
        _check(
            rules.check_rule_conditions,
            "",
            self.host_headers,
            self.path_patterns,
            owner=self,
            at="path_patterns",
        )
        return self

    @model_validator(mode="after")
    def _timing(self) -> Self:
        if self.health_check_timeout_seconds >= self.health_check_interval_seconds:
            raise _fail(
                "health_check_timeout_seconds",
                self.health_check_timeout_seconds,
                "must be less than health_check_interval_seconds "
                f"({self.health_check_interval_seconds})",
            )
        return self


class NetworkServiceConfig(_ReplicaService):
    """``kind: network``: a service behind its own NLB (TCP, TLS or UDP)."""

    kind: Literal["network"]
    port: Port
    protocol: Literal["TCP", "TLS", "UDP"] = "TCP"
    listener_port: Port | None = None
    internet_facing: bool = False
    ingress_cidrs: list[str] | None = None
    certificate_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:acm:")] | None = None
    domain_name: str | None = None
    hosted_zone_id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,32}$")] | None = None
    hosted_zone_name: str | None = None
    preserve_client_ip: bool | None = None
    health_check_protocol: Literal["TCP", "HTTP", "HTTPS"] = "TCP"
    health_check_path: Annotated[str, Field(pattern=r"^/\S*$")] | None = None
    health_check_port: Port | None = None
    deregistration_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    deletion_protection: bool = True

    @field_validator("ingress_cidrs")
    @classmethod
    def _ingress(cls, value: list[str] | None) -> list[str] | None:
        return _sources(value)

    @model_validator(mode="after")
    def _protocol(self) -> Self:
        if self.internet_facing and self.ingress_cidrs is None:
            raise _fail(
                "internet_facing",
                True,
                'an internet-facing load balancer needs ingress_cidrs (e.g. ["0.0.0.0/0"] '
                "for everyone): who may connect is never implicit",
            )
        if (
            self.protocol == "TLS"
            and self.certificate_arn is None
            and (self.domain_name is None or self.hosted_zone_id is None)
        ):
            raise _fail(
                "protocol",
                self.protocol,
                "protocol TLS needs certificate_arn, or domain_name + hosted_zone_id + "
                "hosted_zone_name for a DNS-validated certificate",
            )
        if self.protocol == "UDP":
            if self.preserve_client_ip is False:
                raise _fail(
                    "preserve_client_ip",
                    False,
                    "preserve_client_ip must be true or unset for UDP (a Network Load Balancer "
                    "always preserves the client IP of UDP traffic)",
                )
            if self.health_check_port is None:
                raise _fail(
                    "protocol",
                    self.protocol,
                    "protocol UDP needs health_check_port: a TCP port the container listens on "
                    "(load balancer health checks are never UDP)",
                )
        if self.health_check_path is not None and self.health_check_protocol == "TCP":
            raise _fail(
                "health_check_path",
                self.health_check_path,
                "health_check_path needs health_check_protocol HTTP or HTTPS",
            )
        _check_zone(self.domain_name, self.hosted_zone_id, self.hosted_zone_name)
        return self


class WorkerQueueConfig(_Model):
    """``queue`` of a worker: an SQS queue + dead-letter queue it consumes."""

    visibility_timeout_seconds: Annotated[int, Field(ge=0, le=43_200)] = 300
    retention_days: Annotated[int, Field(ge=1, le=14)] = 4
    max_receive_count: Annotated[int, Field(ge=1, le=1000)] = 5


class WorkerServiceConfig(_ReplicaService):
    """``kind: worker``: no load balancer; optionally a queue."""

    kind: Literal["worker"]
    queue: WorkerQueueConfig | None = None


class ScheduledJobConfig(_ServiceBase):
    """``kind: scheduled``: an EventBridge Scheduler schedule that runs a task."""

    kind: Literal["scheduled"]
    schedule: str
    time_zone: Annotated[str, Field(pattern=r"^[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*$")] | None = None
    enabled: bool = True
    task_count: Annotated[int, Field(ge=1, le=10)] = 1
    retry_attempts: Annotated[int, Field(ge=0, le=185)] = 3
    max_event_age_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600
    capacity: list[CapacityShareConfig] | None = None
    ephemeral_storage_gib: Annotated[int, Field(ge=21, le=200)] | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _rule(rules.check_schedule_expression, value)


class DaemonServiceConfig(_ServiceBase):
    """``kind: daemon``: one task per EC2 container instance."""

    kind: Literal["daemon"]
    cpu: int = 128
    memory_mib: int = 256
    cpu_architecture: Literal["x86_64", "arm64"] | None = None  # type: ignore[assignment]
    ec2_capacity: str | None = None
    network_mode: Literal["bridge", "host", "awsvpc"] = "bridge"
    min_healthy_percent: Annotated[int, Field(ge=0, le=99)] = 50


ServiceConfig = Annotated[
    WebServiceConfig
    | NetworkServiceConfig
    | WorkerServiceConfig
    | ScheduledJobConfig
    | DaemonServiceConfig,
    Field(discriminator="kind"),
]
"""One entry of ``services``, by ``kind``."""


class LoadBalancerConfig(_Model):
    """``environments.<env>.load_balancers.<name>``: an ALB that web services share."""

    internet_facing: bool = True
    ingress_cidrs: list[str] | None = None
    ingress_prefix_lists: list[Annotated[str, Field(pattern=r"^pl-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list
    )
    protocol: Literal["HTTP", "HTTPS"] | None = None
    certificate_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:acm:")] | None = None
    domain_name: str | None = None
    subject_alternative_names: list[str] = Field(default_factory=list)
    hosted_zone_id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,32}$")] | None = None
    hosted_zone_name: str | None = None
    redirect_http: bool | None = None
    http_port: Port = 80
    https_port: Port = 443
    test_listener_port: Port | None = None
    test_ingress_cidrs: list[str] | None = None
    deletion_protection: bool = True
    access_logs: bool = True
    access_logs_expiry_days: Annotated[int, Field(ge=1, le=3650)] = 90
    idle_timeout_seconds: Annotated[int, Field(ge=1, le=4000)] | None = None

    @field_validator("ingress_cidrs", "test_ingress_cidrs")
    @classmethod
    def _ingress(cls, value: list[str] | None) -> list[str] | None:
        return _sources(value)

    @property
    def https(self) -> bool:
        return self.protocol == "HTTPS" or (
            self.protocol is None
            and (self.certificate_arn is not None or self.domain_name is not None)
        )

    @model_validator(mode="after")
    def _listeners(self) -> Self:
        if self.internet_facing and self.ingress_cidrs is None and not self.ingress_prefix_lists:
            raise _fail(
                "ingress_cidrs",
                None,
                'an internet-facing load balancer needs ingress_cidrs (e.g. ["0.0.0.0/0"] '
                "for everyone) or ingress_prefix_lists: who may connect is never implicit",
            )
        if (
            self.https
            and self.certificate_arn is None
            and (self.domain_name is None or self.hosted_zone_id is None)
        ):
            key = "protocol" if self.protocol == "HTTPS" else "hosted_zone_id"
            raise _fail(
                key,
                getattr(self, key),
                "HTTPS needs certificate_arn, or domain_name + hosted_zone_id + "
                "hosted_zone_name for a DNS-validated certificate (or protocol: HTTP)",
            )
        if self.redirect_http and not self.https:
            raise _fail(
                "redirect_http",
                True,
                "redirect_http needs HTTPS (there is no HTTPS listener to redirect to): add "
                "certificate_arn or domain_name + hosted zone, or drop redirect_http",
            )
        listeners: list[tuple[str, int | None]] = [("http_port", self.http_port)]
        listeners += [("https_port", self.https_port)] if self.https else []
        listeners += [("test_listener_port", self.test_listener_port)]
        ports = [port for _, port in listeners if port]
        for i, (key, port) in enumerate(listeners):
            if port and port in [p for _, p in listeners[:i]]:
                raise _fail(key, port, f"listener ports must be distinct, got {ports}")
        for i, name in enumerate(self.subject_alternative_names):
            _rule(rules.check_domain_name, name, at=f"subject_alternative_names.{i}")
        _check_zone(self.domain_name, self.hosted_zone_id, self.hosted_zone_name)
        return self


def _check_zone(domain: str | None, zone_id: str | None, zone_name: str | None) -> None:
    """DNS keys shared by ALBs and NLBs; problems name the key below the load balancer."""
    if domain is not None:
        _rule(rules.check_domain_name, domain, at="domain_name")
    if (zone_id is None) != (zone_name is None):
        raise _fail(
            "hosted_zone_id" if zone_id is not None else "hosted_zone_name",
            zone_id if zone_id is not None else zone_name,
            "give hosted_zone_id and hosted_zone_name together (no lookup at synth)",
        )
    if zone_name is not None:
        _rule(rules.check_domain_name, zone_name.rstrip("."), at="hosted_zone_name")
        if domain is not None and not (
            domain == zone_name.rstrip(".") or domain.endswith("." + zone_name.rstrip("."))
        ):
            raise _fail(
                "hosted_zone_name",
                zone_name,
                f"domain_name {domain!r} is not in hosted zone {zone_name!r}",
            )
    if zone_id is not None and domain is None:
        raise _fail("hosted_zone_id", zone_id, "hosted_zone_id needs domain_name")


class EnvironmentConfig(_Model):
    """``environments.<env>``: where and what to deploy for one environment."""

    account: str | None = None
    region: str
    availability_zones: Annotated[list[str], Field(min_length=2, max_length=6)]
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    load_balancers: dict[
        Annotated[str, Field(pattern=SERVICE_NAME_PATTERN)], LoadBalancerConfig
    ] = Field(default_factory=dict)
    services: dict[Annotated[str, Field(pattern=SERVICE_NAME_PATTERN)], ServiceConfig] = Field(
        default_factory=dict
    )
    tags: dict[str, str] = Field(default_factory=dict)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    max_tasks_per_service: Annotated[int, Field(ge=1, le=10_000)] = rules.DEFAULT_MAX_TASKS_CEILING

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        return None if value is None else _rule(rules.check_account, value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _rule(rules.check_region, value)

    @model_validator(mode="after")
    def _zones(self) -> Self:
        zones = self.availability_zones
        for i, zone in enumerate(zones):
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                raise _fail(
                    f"availability_zones.{i}",
                    zone,
                    f"not an AZ of region {self.region} (expected like '{self.region}a')",
                )
            if zone in zones[:i]:
                raise _fail(f"availability_zones.{i}", zone, f"listed twice in {zones}")
        if self.network.max_azs > len(zones):
            raise _fail(
                "network.max_azs",
                self.network.max_azs,
                f"exceeds the {len(zones)} availability_zones listed; list more AZs or lower "
                "max_azs",
            )
        return self

    @model_validator(mode="after")
    def _services(self) -> Self:
        """Cross-references: capacity providers, architectures, Fargate sizes, load balancers
        and listener priorities (the same rules the constructs apply, checked before synth)."""
        archs: dict[str, str] = {c.name: c.architecture for c in self.cluster.ec2_capacity}
        used_lbs: dict[tuple[str, int], str] = {}
        for name, svc in self.services.items():
            where = f"services.{name}"
            if isinstance(svc, DaemonServiceConfig):
                _check_daemon(where, svc, archs)
                continue
            fargate = self._check_capacity(where, svc.capacity, svc.cpu_architecture, archs)
            if fargate:
                _check(rules.check_fargate_cpu_memory, where, svc.cpu, svc.memory_mib, owner=self)
            else:
                if svc.ephemeral_storage_gib is not None:
                    raise _fail(
                        f"{where}.ephemeral_storage_gib",
                        svc.ephemeral_storage_gib,
                        "ephemeral_storage_gib applies to Fargate only; on EC2 capacity size "
                        "the instances' root_volume_size_gib",
                    )
                _check(rules.check_range, f"{where}.cpu", svc.cpu, 128, 196_608)
                _check(rules.check_range, f"{where}.memory_mib", svc.memory_mib, 128)
            if isinstance(svc, ScheduledJobConfig):
                continue
            self._check_scaling(where, svc)
            if svc.deployment.shifts_traffic and not isinstance(svc, WebServiceConfig):
                raise _fail(
                    f"{where}.deployment.type",
                    svc.deployment.type,
                    f"deployment type {svc.deployment.type} needs an Application Load "
                    f"Balancer: only kind web services shift traffic; use type rolling for "
                    f"kind {svc.kind}",
                )
            if isinstance(svc, WebServiceConfig):
                if svc.load_balancer not in self.load_balancers:
                    raise _fail(
                        f"{where}.load_balancer",
                        svc.load_balancer,
                        f"must be one of load_balancers {sorted(self.load_balancers)}",
                    )
                key = (svc.load_balancer, svc.priority)
                if key in used_lbs:
                    raise _fail(
                        f"{where}.priority",
                        svc.priority,
                        f"already used by services.{used_lbs[key]} on load balancer "
                        f"{svc.load_balancer!r}; priorities must be unique per load balancer",
                    )
                used_lbs[key] = name
        referenced = {lb for lb, _ in used_lbs}
        for lb in self.load_balancers:
            if lb not in referenced:
                raise _fail(
                    f"load_balancers.{lb}",
                    lb,
                    "this load balancer is not used by any kind web service; remove it or point "
                    "a service's load_balancer at it",
                )
        return self

    def _check_scaling(
        self, where: str, svc: WebServiceConfig | NetworkServiceConfig | WorkerServiceConfig
    ) -> None:
        scaling = svc.autoscaling
        if scaling is None:
            return
        ceiling = self.max_tasks_per_service
        for sub, hi in [
            ("autoscaling", scaling.max_tasks),
            *((f"autoscaling.schedules.{i}", s.max_tasks) for i, s in enumerate(scaling.schedules)),
        ]:  # fmt: skip
            if hi > ceiling:
                raise _fail(
                    f"{where}.{sub}.max_tasks",
                    hi,
                    f"must be <= max_tasks_per_service ({ceiling}) of the environment",
                )
        if scaling.requests_per_target is not None and (
            not isinstance(svc, WebServiceConfig) or svc.deployment.shifts_traffic
        ):
            raise _fail(
                f"{where}.autoscaling.requests_per_target",
                scaling.requests_per_target,
                "requests_per_target needs a kind web service with a rolling deployment "
                "(traffic shifting moves traffic to another target group)",
            )
        if scaling.queue_backlog_per_task is not None and (
            not isinstance(svc, WorkerServiceConfig) or svc.queue is None
        ):
            raise _fail(
                f"{where}.autoscaling.queue_backlog_per_task",
                scaling.queue_backlog_per_task,
                "queue_backlog_per_task needs a kind worker service with a queue",
            )

    def _check_capacity(
        self,
        where: str,
        capacity: list[CapacityShareConfig] | None,
        architecture: str,
        archs: dict[str, str],
    ) -> bool:
        """Check a service's strategy (default: the cluster's); True when it is Fargate.
        Problems with the cluster's default strategy are reported at the service's
        ``capacity`` (where a service overrides it)."""
        shares = (
            capacity if capacity is not None else self.cluster.default_capacity_provider_strategy
        )
        # A problem of the cluster's default strategy (which this service uses) is reported
        # where that strategy is written.
        at = (
            f"{where}.capacity"
            if capacity is not None
            else "cluster.default_capacity_provider_strategy"
        )
        if not shares:
            raise _fail(at, shares, "must name at least one capacity provider")
        providers = [s.provider for s in shares]
        kinds = _check_strategy(at, shares, self.cluster.provider_names)
        if not kinds[0]:
            for provider in providers:
                _check(
                    rules.check_capacity_architecture,
                    f"{where}.cpu_architecture",
                    architecture,
                    provider,
                    archs[provider],
                )
        return kinds[0]

    @property
    def zones(self) -> list[str]:
        """The AZs the VPC spans: the first ``network.max_azs`` of ``availability_zones``."""
        return self.availability_zones[: self.network.max_azs]


class AppConfig(_Model):
    """The ``ecskit`` context object."""

    app: Annotated[str, Field(pattern=NAME_PATTERN)] = "ecskit"
    owner: Annotated[str, Field(min_length=1, max_length=128)]
    default_environment: str = "dev"
    environments: dict[Annotated[str, Field(pattern=NAME_PATTERN)], EnvironmentConfig]

    @model_validator(mode="after")
    def _default_exists(self) -> Self:
        if self.default_environment not in self.environments:
            raise _fail(
                "default_environment",
                self.default_environment,
                f"must be one of the environments {sorted(self.environments)}",
            )
        return self


def _check_daemon(where: str, svc: DaemonServiceConfig, archs: dict[str, str]) -> None:
    if not archs:
        raise _fail(
            f"{where}.kind",
            "daemon",
            "a daemon runs one task per EC2 instance and the cluster has no ec2_capacity "
            "(Fargate has no instances); add cluster.ec2_capacity or use kind worker",
        )
    if svc.ec2_capacity is not None and svc.ec2_capacity not in archs:
        hint = (
            " (a daemon runs one task per EC2 instance; Fargate has no instances)"
            if svc.ec2_capacity in ("FARGATE", "FARGATE_SPOT")
            else ""
        )
        raise _fail(
            f"{where}.ec2_capacity",
            svc.ec2_capacity,
            f"not an EC2 capacity of the cluster; use one of {sorted(archs)}{hint}",
        )
    pools = [svc.ec2_capacity] if svc.ec2_capacity is not None else list(archs)
    pool_archs = {archs[p] for p in pools}
    if svc.cpu_architecture is None and len(pool_archs) > 1:
        raise _fail(
            f"{where}.cpu_architecture",
            None,
            f"must be set: the EC2 capacities mix architectures { {p: archs[p] for p in pools} }",
        )
    if svc.cpu_architecture is not None and svc.cpu_architecture not in pool_archs:
        raise _fail(
            f"{where}.cpu_architecture",
            svc.cpu_architecture,
            f"must be {sorted(pool_archs)} to match the EC2 capacities it runs on",
        )
    _check(rules.check_range, f"{where}.cpu", svc.cpu, 128, 196_608)
    _check(rules.check_range, f"{where}.memory_mib", svc.memory_mib, 128)


_UNSET: Any = object()
# A shared rule's message: ``<prop> must be <allowed>, got <value>`` (``invalid()``), where prop
# is a dotted path relative to the caller's (``[i]`` for list items, "" for the field itself).
_RULE_MESSAGE = re.compile(r"^([\w.\[\]-]*) (must .*)$", re.DOTALL)


def _check_strategy(
    at: str, shares: list[CapacityShareConfig], known: list[str], *, subject: str | None = None
) -> list[bool]:
    """The rules of one capacity provider strategy at key path ``at`` (the cluster's default
    or a service's ``capacity``): every provider known to the cluster and named once, at most
    one ``base``, some weight above 0, one kind (Fargate or EC2). Returns, per entry, whether
    it is a Fargate provider. ``subject`` names the strategy in the messages (the cluster's
    default strategy says which one it is; a service's problems are at its ``capacity``)."""
    providers = [share.provider for share in shares]
    for i, provider in enumerate(providers):
        if provider not in known:
            raise _fail(
                f"{at}.{i}.provider",
                provider,
                f"the cluster has no such capacity provider; use one of {known}",
            )
        if provider in providers[:i]:
            raise _fail(f"{at}.{i}.provider", provider, f"named twice in {providers}")
    based = [i for i, share in enumerate(shares) if share.base]
    if len(based) > 1:
        entry = f"entry of {subject}" if subject else "entry"
        raise _fail(
            f"{at}.{based[1]}.base", shares[based[1]].base, f"at most one {entry} may set base"
        )
    if shares and not any(share.weight for share in shares):
        raise _fail(f"{at}.0.weight", shares[0].weight, "at least one weight must be above 0")
    kinds = [provider in ("FARGATE", "FARGATE_SPOT") for provider in providers]
    for i, provider in enumerate(providers):
        if kinds[i] != kinds[0]:
            mixes = (
                f"{subject} mixes Fargate and EC2 capacity providers"
                if subject
                else "mixes Fargate and EC2 capacity providers in one strategy"
            )
            raise _fail(
                f"{at}.{i}.provider", provider, f"{mixes}; ECS accepts one kind per strategy"
            )
    return kinds


def _check(
    check: Callable[..., object],
    prop: str,
    *args: Any,
    owner: Any = None,
    at: str | None = None,
    value: Any = _UNSET,
) -> None:
    """Run a shared rule of ``constructs_lib._validate`` with ``prop`` (a dotted path relative to
    the model or field being validated) and turn its error into an :class:`_ProblemError` at the
    path the message names (else at ``at``, else ``prop``). The problem's value is ``value``,
    else the value at that path below ``owner`` (else the rule's first value argument)."""
    try:
        check(prop, *args)
    except EcskitValidationError as exc:
        text = str(exc)
        named = _RULE_MESSAGE.match(text)
        if named:
            where, message = named.group(1), named.group(2)
        else:
            where = at if at is not None else prop
            message = text if at is not None else text.removeprefix(prop)
            message = message.strip().lstrip(".").strip()
        path = re.sub(r"\[(\d+)\]", r".\1", where).strip(".")
        if value is _UNSET:
            value = _lookup(owner, path) if owner is not None else _UNSET
            if value is _UNSET:
                value = args[0] if args else None
        if repr(value) not in message:  # e.g. a total computed from several keys
            message = f"got {value!r}; {message}"
        raise _ProblemError(path, value, message) from None


def _lookup(node: Any, path: str) -> Any:
    """The value at dotted ``path`` below a model, mapping or list (``_UNSET`` when absent)."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, BaseModel):
            node = getattr(node, part, _UNSET)
        elif isinstance(node, Mapping):
            node = node.get(part, _UNSET)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _UNSET
        if node is _UNSET:
            return _UNSET
    return node


def _rule(check: Callable[[str, _T], object], value: _T, at: str = "") -> _T:
    """Run a shared rule inside a field validator (pydantic adds the field's path; ``at`` is a
    path below it, e.g. a list index) and return the value."""
    _check(check, at, value)
    return value


def _each(check: Callable[[str, _T], object], values: list[_T] | None) -> list[_T] | None:
    """Run a shared rule on every item of a list field (a problem names the item's index)."""
    for i, item in enumerate(values or []):
        _rule(check, item, at=str(i))
    return values


def load_config(raw: Any) -> AppConfig:
    """Validate the ``ecskit`` context object; raise :class:`ConfigError` listing every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            [Problem("", raw, f"missing or not an object in cdk.json context (got {raw!r})")]
        )
    try:
        return AppConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems: dict[str, Problem] = {}
        for error in exc.errors():  # one problem per key (union members each report one)
            problem = _describe(error, raw)
            problems.setdefault(problem.path, problem)
        raise ConfigError(list(problems.values())) from None


def select_environment(config: AppConfig, name: str | None) -> tuple[str, EnvironmentConfig]:
    """The environment named by ``-c env=NAME`` (default: ``default_environment``)."""
    chosen = name or config.default_environment
    if chosen not in config.environments:
        message = (
            f"{chosen!r} is not a configured environment; use one of "
            f"{sorted(config.environments)} (cdk synth -c env=NAME)"
        )
        raise ConfigError([Problem("", chosen, message, root=ENV_CONTEXT_KEY)])
    return chosen, config.environments[chosen]


def _describe(error: Any, raw: Any) -> Problem:
    """One pydantic error as a :class:`Problem` at the exact key path into ``raw``."""
    kind = error["type"]
    path = ".".join(_input_path(error["loc"], raw, keep_last=kind == "missing"))
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, _ProblemError):  # our validators: the path below the model, value, fix
        return Problem(".".join(p for p in (path, cause.path) if p), cause.value, cause.message)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return Problem(path, error["input"], f"unknown key; allowed keys here: {allowed}")
    if kind == "missing":
        return Problem(path, None, "required key is missing")
    kind_path = f"{path}.kind" if path else "kind"
    if kind == "union_tag_invalid":  # e.g. an unknown service kind
        tag = ctx.get("tag")
        return Problem(kind_path, tag, f"got {tag!r}; must be one of {ctx.get('expected_tags')}")
    if kind == "union_tag_not_found":
        return Problem(kind_path, None, f"required key is missing; one of {list(SERVICE_KINDS)}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(path, error["input"], f"got {error['input']!r}; {message}")


def _input_path(loc: tuple[Any, ...], raw: Any, *, keep_last: bool) -> list[str]:
    """The parts of a pydantic error location that are keys of the input: pydantic also puts
    a discriminated union's tag (a service ``kind``), a union member's type (``int``) or
    ``[key]`` in it. ``keep_last`` keeps a last part that is absent (a missing key)."""
    path: list[str] = []
    node = raw
    for i, part in enumerate(loc):
        if isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif keep_last and i == len(loc) - 1 and isinstance(node, Mapping):
            node = None
        else:
            continue
        path.append(str(part))
    return path


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` under :class:`AppConfig`."""
    annotation: Any = AppConfig
    for part in loc:
        annotation = _unwrap(annotation, part)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(annotation.model_fields)
    return []


def _unwrap(annotation: Any, part: Any) -> Any:
    members = _union_members(annotation)
    if members:  # a discriminated union: ``part`` is the tag (e.g. a service kind)
        for member in members:
            kind = member.model_fields.get("kind")
            if kind is not None and typing.get_args(kind.annotation) == (part,):
                return member
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return _strip(field.annotation) if field else None
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is list and args:
        return _strip(args[0])
    if origin is dict and len(args) == 2:
        return _strip(args[1])
    return None


def _union_members(annotation: Any) -> list[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [a for a in typing.get_args(annotation) if isinstance(a, type)]
    return []


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated[...]`` and ``X | None`` wrappers."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = options[0] if len(options) == 1 else annotation
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation
