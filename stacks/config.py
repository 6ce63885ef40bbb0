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


class ConfigError(Exception):
    """The configuration is invalid; ``str(err)`` lists one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "invalid ecskit configuration:\n" + "\n".join(f"  - {p}" for p in problems)
        )


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
        if len(set(value)) != len(value):
            raise ValueError("must not list an endpoint twice")
        return value

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.nat_gateways > self.max_azs:
            raise ValueError(
                f"nat_gateways ({self.nat_gateways}) must be <= max_azs ({self.max_azs}): "
                "at most one NAT gateway per AZ"
            )
        masks = {"public_subnet_mask": self.public_subnet_mask}
        masks["private_subnet_mask"] = self.private_subnet_mask
        if self.isolated_subnets:
            masks["isolated_subnet_mask"] = self.isolated_subnet_mask
        _rule(lambda prop, _: rules.check_subnets_fit(prop, self.cidr, self.max_azs, masks), 0)
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
        for account in value:
            _rule(rules.check_account, account)
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
        _rule(lambda prop, v: rules.common_architecture(v, prop=prop), value)
        return value

    @model_validator(mode="after")
    def _min_max(self) -> Self:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"min_capacity ({self.min_capacity}) must be <= max_capacity ({self.max_capacity})"
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
        if len(set(names)) != len(names):
            raise ValueError(f"ec2_capacity names must be distinct, got {names}")
        known = self.provider_names
        strategy = self.default_capacity_provider_strategy
        for share in strategy:
            if share.provider not in known:
                raise ValueError(
                    f"default_capacity_provider_strategy names provider {share.provider!r}, "
                    f"which the cluster does not have; use one of {known}"
                )
        fargate = {s.provider in ("FARGATE", "FARGATE_SPOT") for s in strategy}
        if len(fargate) > 1:
            raise ValueError(
                "default_capacity_provider_strategy mixes Fargate and EC2 capacity providers; "
                "ECS accepts one kind per strategy"
            )
        if sum(1 for s in strategy if s.base) > 1:
            raise ValueError("default_capacity_provider_strategy: at most one entry may set base")
        return self


class EnvironmentConfig(_Model):
    """``environments.<env>``: where and what to deploy for one environment."""

    account: str | None = None
    region: str
    availability_zones: Annotated[list[str], Field(min_length=2, max_length=6)]
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    tags: dict[str, str] = Field(default_factory=dict)

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
        for zone in zones:
            if not re.fullmatch(re.escape(self.region) + r"[a-z]", zone):
                raise ValueError(
                    f"availability_zones entry {zone!r} is not an AZ of region {self.region} "
                    f"(expected like '{self.region}a')"
                )
        if len(set(zones)) != len(zones):
            raise ValueError(f"availability_zones has duplicates: {zones}")
        if self.network.max_azs > len(zones):
            raise ValueError(
                f"network.max_azs ({self.network.max_azs}) exceeds the {len(zones)} "
                "availability_zones listed; list more AZs or lower max_azs"
            )
        return self

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
            raise ValueError(
                f"default_environment {self.default_environment!r} is not one of the "
                f"environments {sorted(self.environments)}"
            )
        return self


def _rule(check: Callable[[str, _T], object], value: _T) -> _T:
    """Run a shared rule from ``constructs_lib._validate`` inside a pydantic validator (pydantic
    adds the key path; the rule's message says what is allowed)."""
    try:
        check("value", value)
    except EcskitValidationError as exc:
        raise ValueError(str(exc).removeprefix("value").lstrip()) from None
    return value


def load_config(raw: Any) -> AppConfig:
    """Validate the ``ecskit`` context object; raise :class:`ConfigError` listing every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            [f"{CONTEXT_KEY}: missing or not an object in cdk.json context (got {raw!r})"]
        )
    try:
        return AppConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None


def select_environment(config: AppConfig, name: str | None) -> tuple[str, EnvironmentConfig]:
    """The environment named by ``-c env=NAME`` (default: ``default_environment``)."""
    chosen = name or config.default_environment
    if chosen not in config.environments:
        raise ConfigError(
            [f"{ENV_CONTEXT_KEY}: {chosen!r} is not a configured environment; "
             f"use one of {sorted(config.environments)} (cdk synth -c env=NAME)"]
        )  # fmt: skip
    return chosen, config.environments[chosen]


def _describe(error: Any) -> str:
    loc = tuple(str(part) for part in error["loc"])
    path = ".".join(loc) or CONTEXT_KEY
    path = f"{CONTEXT_KEY}.{path}" if loc else path
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return f"{path}: unknown key; allowed keys here: {allowed}"
    if kind == "missing":
        return f"{path}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "got " in message:
        return f"{path}: {message}"
    return f"{path}: got {error['input']!r}; {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` under :class:`AppConfig`."""
    annotation: Any = AppConfig
    for part in loc:
        annotation = _unwrap(annotation, part)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sorted(annotation.model_fields)
    return []


def _unwrap(annotation: Any, part: Any) -> Any:
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
