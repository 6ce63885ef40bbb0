"""Pure validation rules shared by the constructs and by ``stacks/config.py``.

No aws_cdk import: the typed app configuration calls these before any construct is built, and
the constructs call them again on their props, so a rule lives in exactly one place.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from constructs_lib.errors import EcskitValidationError, invalid

Architecture = Literal["x86_64", "arm64"]

# EC2 instance type naming: <family><generation>[<processor>][<capabilities>][-<flex>].<size>,
# e.g. t3.micro, m7g.2xlarge, c6gn.16xlarge, r6id.metal, u-6tb1.112xlarge, mac2-m2pro.metal.
_INSTANCE_TYPE = re.compile(
    r"^(?P<family>(?:[a-z]+[0-9]+[a-z]*(?:-[a-z0-9]+)?|u-[0-9]+tb[0-9]+|u7[a-z]+-[0-9]+tb))"
    r"\.(?P<size>nano|micro|small|medium|large|xlarge|[1-9][0-9]*xlarge|metal(?:-[0-9]+xl)?)$"
)
# Graviton families have a ``g`` processor letter right after the generation: t4g, m7g, c6gn,
# r8gd, x2gd, im4gn, is4gen, g5g; but not g5/g6 (GPU family ``g``) or other letters.
_GRAVITON_FAMILY = re.compile(r"^[a-z]+[0-9]+g[a-z]*$")

INSTANCE_TYPE_HINT = "an EC2 instance type like 't3.medium', 'm7g.large' or 'c6i.2xlarge'"


def instance_type_architecture(instance_type: str, *, prop: str = "instance_type") -> Architecture:
    """Validate an EC2 instance type name and return its CPU architecture.

    Raises :class:`EcskitValidationError` when the name does not follow EC2's naming scheme.
    """
    match = _INSTANCE_TYPE.match(instance_type)
    if not match:
        raise invalid(prop, instance_type, INSTANCE_TYPE_HINT)
    family = match.group("family")
    return "arm64" if _GRAVITON_FAMILY.match(family) else "x86_64"


def common_architecture(instance_types: Iterable[str], *, prop: str) -> Architecture:
    """Return the one CPU architecture shared by ``instance_types`` (an AMI serves one)."""
    archs = {
        name: instance_type_architecture(name, prop=f"{prop}[{i}]")
        for i, name in enumerate(instance_types)
    }
    if not archs:
        raise invalid(prop, [], "a non-empty list of EC2 instance types")
    if len(set(archs.values())) > 1:
        raise EcskitValidationError(
            f"{prop} mixes CPU architectures ({archs}); an Auto Scaling group runs one AMI, so "
            "use only x86_64 types or only Graviton (arm64) types, or add a second capacity"
        )
    return next(iter(archs.values()))


def check_range(prop: str, value: int, low: int, high: int | None = None) -> int:
    """``low <= value (<= high)``, else a validation error naming the prop and bounds."""
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f">= {low}"
        raise invalid(prop, value, allowed)
    return value


def check_cidr(prop: str, cidr: str, *, min_prefix: int = 16, max_prefix: int = 24) -> str:
    """An IPv4 network in CIDR notation with a prefix a VPC accepts (/16 to /28; we need room)."""
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as exc:
        raise invalid(prop, cidr, f"an IPv4 CIDR block like '10.0.0.0/16' ({exc})") from None
    if not min_prefix <= network.prefixlen <= max_prefix:
        raise invalid(
            prop, cidr, f"a CIDR block with a prefix between /{min_prefix} and /{max_prefix}"
        )
    return cidr


def check_account(prop: str, account: str) -> str:
    if not re.fullmatch(r"[0-9]{12}", account):
        raise invalid(prop, account, "a 12-digit AWS account id")
    return account


def check_region(prop: str, region: str) -> str:
    if not re.fullmatch(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]", region):
        raise invalid(prop, region, "an AWS region name like 'eu-west-1'")
    return region


def check_availability_zones(prop: str, zones: list[str], region: str | None) -> list[str]:
    if not 2 <= len(zones) <= 3:
        raise invalid(prop, zones, "a list of 2 or 3 availability zones")
    if len(set(zones)) != len(zones):
        raise invalid(prop, zones, "a list of distinct availability zones")
    for zone in zones:
        if region is not None and not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            raise invalid(prop, zone, f"an availability zone of region {region} like '{region}a'")
    return zones


def check_subnets_fit(prop: str, cidr: str, az_count: int, masks: dict[str, int]) -> None:
    """The subnet groups fit in ``cidr``: one subnet per AZ each, ``masks`` maps the mask's
    prop name (e.g. ``Network.private_subnet_mask``) to its prefix length."""
    prefix = ipaddress.IPv4Network(cidr).prefixlen
    for mask_prop, mask in masks.items():
        if not prefix < mask <= 28:
            raise invalid(mask_prop, mask, f"between {prefix + 1} and 28 for a /{prefix} VPC")
    needed = az_count * sum(2 ** (32 - mask) for mask in masks.values())
    available = 2 ** (32 - prefix)
    if needed > available:
        raise EcskitValidationError(
            f"{prop} {cidr} has {available} addresses but {az_count} AZs x subnets "
            f"{ {k: f'/{v}' for k, v in masks.items()} } need {needed}; use a larger CIDR "
            "(smaller prefix) or smaller subnets (larger masks)"
        )


# --- services -------------------------------------------------------------------------------

# Task-level CPU units -> the memory sizes (MiB) Fargate accepts with it (Linux, platform 1.4).
FARGATE_CPU_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


def _memory_choices(sizes: tuple[int, ...]) -> str:
    if len(sizes) <= 4:
        return ", ".join(str(s) for s in sizes)
    step = sizes[1] - sizes[0]
    return f"{sizes[0]} to {sizes[-1]} in steps of {step}"


def check_fargate_cpu_memory(prefix: str, cpu: int, memory_mib: int) -> None:
    """``cpu``/``memory_mib`` form a task size Fargate accepts (it rejects every other pair)."""
    if cpu not in FARGATE_CPU_MEMORY:
        raise invalid(f"{prefix}.cpu", cpu, f"one of {list(FARGATE_CPU_MEMORY)} on Fargate")
    sizes = FARGATE_CPU_MEMORY[cpu]
    if memory_mib not in sizes:
        raise invalid(
            f"{prefix}.memory_mib",
            memory_mib,
            f"{_memory_choices(sizes)} MiB with cpu {cpu} on Fargate "
            "(pick a memory size from that list, or another cpu)",
        )


def check_port(prop: str, port: int) -> int:
    """A TCP/UDP port number."""
    return check_range(prop, port, 1, 65535)


def check_count(prop: str, count: int | None) -> int | None:
    """A task count: None (not managed here) or >= 0."""
    return None if count is None else check_range(prop, count, 0)


def check_distinct(prop: str, values: Iterable[object], what: str = "values") -> None:
    """No value appears twice in ``values``."""
    seen: set[object] = set()
    dupes = []
    for value in values:
        if value in seen:
            dupes.append(value)
        seen.add(value)
    if dupes:
        raise invalid(prop, sorted(set(dupes), key=str), f"distinct {what} (each used once)")


def check_cpu_architecture(prop: str, architecture: str) -> Architecture:
    if architecture not in ("x86_64", "arm64"):
        raise invalid(prop, architecture, "'x86_64' or 'arm64'")
    return architecture  # type: ignore[return-value]


def check_capacity_architecture(
    prop: str, architecture: str, capacity: str, capacity_architecture: str
) -> None:
    """A task built for ``architecture`` can run on an EC2 capacity of ``capacity_architecture``."""
    if architecture != capacity_architecture:
        raise invalid(
            prop,
            architecture,
            f"{capacity_architecture!r} to run on EC2 capacity {capacity!r} (its instance "
            f"types are {capacity_architecture} only); build the image for "
            f"{capacity_architecture} or use a capacity with {architecture} instance types",
        )


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_PREFIX_LIST = re.compile(r"^pl-[0-9a-f]{8,17}$")
_DOMAIN = re.compile(r"^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HTTP_CODES = re.compile(
    r"^[1-5][0-9]{2}(?:-[1-5][0-9]{2})?(?:,[1-5][0-9]{2}(?:-[1-5][0-9]{2})?)*$"
)


def check_env_names(prop: str, names: Iterable[str]) -> None:
    for name in names:
        if not _ENV_NAME.match(name):
            raise invalid(prop, name, "an environment variable name like 'LOG_LEVEL'")


def check_container_name(prop: str, name: str) -> str:
    if not _CONTAINER_NAME.match(name):
        raise invalid(prop, name, "1-255 letters, digits, '-' and '_'")
    return name


def check_image_reference(
    prop: str,
    tag: str | None,
    digest: str | None,
    tag_prop: str | None = None,
    digest_prop: str | None = None,
) -> None:
    """An ECR image is named by a tag or a digest (exactly one)."""
    if (tag is None) == (digest is None):
        raise invalid(prop, {"tag": tag, "digest": digest}, "exactly one of tag or digest")
    if tag is not None and not _IMAGE_TAG.match(tag):
        raise invalid(
            tag_prop or f"{prop}.tag", tag, "a Docker tag (letters, digits, '_', '.', '-')"
        )
    if digest is not None and not _IMAGE_DIGEST.match(digest):
        raise invalid(
            digest_prop or f"{prop}.digest",
            digest,
            "an image digest like 'sha256:<64 hex digits>'",
        )


def check_ingress_source(prop: str, source: str) -> str:
    """An IPv4 or IPv6 CIDR block, or a managed prefix list id (``pl-...``)."""
    if _PREFIX_LIST.match(source):
        return source
    try:
        ipaddress.ip_network(source, strict=True)
    except ValueError:
        raise invalid(
            prop, source, "an IPv4/IPv6 CIDR like '203.0.113.0/24' or a prefix list id 'pl-...'"
        ) from None
    return source


def check_domain_name(prop: str, name: str) -> str:
    if not _DOMAIN.match(name):
        raise invalid(prop, name, "a lower-case DNS name like 'app.example.com'")
    return name


def check_listener_priority(prop: str, priority: int) -> int:
    return check_range(prop, priority, 1, 50_000)


def check_rule_conditions(
    prefix: str, host_headers: Sequence[str], path_patterns: Sequence[str]
) -> None:
    """An ALB listener rule's values: at most 3 per condition and 5 per rule (ELB quotas;
    the API rejects more at deploy time)."""
    for name, values in (("host_headers", host_headers), ("path_patterns", path_patterns)):
        if len(values) > 3:
            raise invalid(
                f"{prefix}.{name}",
                list(values),
                "at most 3 values (an ALB rule condition takes 3 match evaluations)",
            )
    if len(host_headers) + len(path_patterns) > 5:
        raise invalid(
            f"{prefix}.host_headers + path_patterns",
            [*host_headers, *path_patterns],
            "at most 5 values together (an ALB rule takes 5 match evaluations)",
        )


def check_http_codes(prop: str, codes: str) -> str:
    if not _HTTP_CODES.match(codes):
        raise invalid(prop, codes, "HTTP codes like '200', '200-399' or '200,302'")
    return codes


def check_health_check_timing(prefix: str, interval_s: int, timeout_s: int) -> None:
    """Load balancer target health check: interval 5-300 s, timeout 2-120 s and < interval."""
    check_range(f"{prefix}_interval (seconds)", interval_s, 5, 300)
    check_range(f"{prefix}_timeout (seconds)", timeout_s, 2, 120)
    if timeout_s >= interval_s:
        raise invalid(
            f"{prefix}_timeout (seconds)",
            timeout_s,
            f"less than the interval ({interval_s} s)",
        )


_RATE = re.compile(
    r"^rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9][0-9]+) (?:minutes|hours|days))\)$"
)
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


def check_schedule_expression(prop: str, expression: str) -> str:
    """An EventBridge Scheduler ``rate(...)`` or six-field ``cron(...)`` expression."""
    if _RATE.match(expression):
        return expression
    cron = _CRON.match(expression)
    if cron:
        day_of_month, day_of_week = cron.group(3), cron.group(5)
        if (day_of_month == "?") != (day_of_week == "?"):
            return expression
        raise invalid(
            prop,
            expression,
            "a cron expression with '?' in exactly one of day-of-month and day-of-week, "
            "e.g. 'cron(0 3 * * ? *)'",
        )
    raise invalid(
        prop,
        expression,
        "'rate(<n> minutes|hours|days)' (singular for 1) or a six-field "
        "'cron(min hour day-of-month month day-of-week year)', e.g. 'cron(0 3 * * ? *)'",
    )


def whole(prop: str, value: float, unit: str = "seconds") -> int:
    """A duration read with ``integral=False`` (e.g. ``d.to_seconds(integral=False)``) as a whole
    number of ``unit``; a fraction is a validation error, not a jsii traceback from
    ``Duration.to_seconds()``."""
    if value != int(value):
        raise invalid(prop, value, f"a whole number of {unit}")
    return int(value)


def check_traffic_shift_percent(prop: str, percent: float, low: float) -> float:
    """A traffic step in percent: a multiple of 0.1 between ``low`` and 100."""
    tenths = round(percent * 10)
    if not (low <= percent <= 100.0) or abs(percent * 10 - tenths) > 1e-6:
        raise invalid(prop, percent, f"a multiple of 0.1 between {low} and 100.0")
    return percent


def check_deployment_minutes(prop: str, minutes: float) -> int:
    """A bake time in whole minutes, 0-1440 (ECS's limits)."""
    if minutes != int(minutes):
        raise invalid(prop, minutes, "a whole number of minutes")
    return check_range(prop, int(minutes), 0, 1440)


CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES = 33 * 60


def check_deployment_duration(prop: str, total_minutes: int) -> None:
    """CloudFormation rejects canary/linear deployments that could take more than 33 hours."""
    if total_minutes > CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES:
        raise invalid(
            prop,
            f"{total_minutes} minutes",
            f"at most {CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES} minutes (33 hours) of bake "
            "time in total, or CloudFormation rejects the deployment; shorten the bake times "
            "or use larger steps",
        )


def check_healthy_percents(prefix: str, min_percent: int, max_percent: int) -> None:
    """Deployment bounds: min 0-100, max 100-400 and above min (or nothing can be replaced)."""
    check_range(f"{prefix}.min_healthy_percent", min_percent, 0, 100)
    check_range(f"{prefix}.max_healthy_percent", max_percent, 100, 400)
    if max_percent <= min_percent:
        raise invalid(
            f"{prefix}.max_healthy_percent",
            max_percent,
            f"above min_healthy_percent ({min_percent}), or no task can be replaced",
        )


def check_az_rebalancing(prefix: str, enabled: bool, max_percent: int) -> None:
    """Availability Zone rebalancing starts a task before stopping one: max must exceed 100."""
    if enabled and max_percent <= 100:
        raise invalid(
            f"{prefix}.availability_zone_rebalancing",
            True,
            "False when max_healthy_percent is 100 (ECS rebalances by starting a task before "
            "stopping one); or raise max_healthy_percent",
        )


# --- scaling and alarms (issue 4) ----------------------------------------------------------------

DEFAULT_MAX_TASKS_CEILING = 100
"""The largest ``max_tasks`` a service may scale to unless a ceiling is configured."""


def check_capacity_range(prefix: str, min_tasks: int, max_tasks: int, ceiling: int) -> None:
    """Autoscaling bounds: ``0 <= min_tasks <= max_tasks <= ceiling`` and ``max_tasks >= 1``."""
    check_range(f"{prefix}.min_tasks", min_tasks, 0)
    check_range(f"{prefix}.max_tasks", max_tasks, 1, ceiling)
    if min_tasks > max_tasks:
        raise invalid(f"{prefix}.min_tasks", min_tasks, f"<= max_tasks ({max_tasks})")


def check_percent(prop: str, value: float, low: float = 0.0) -> float:
    """A percentage: ``low <= value <= 100``."""
    if not low <= value <= 100:
        raise invalid(prop, value, f"a percentage between {low:g} and 100")
    return value


def check_evaluation(prop: str, evaluation_periods: int, datapoints: int) -> None:
    """CloudWatch: 1 <= datapoints_to_alarm <= evaluation_periods (and periods x 1 min <= 1 day)."""
    check_range(f"{prop}.evaluation_periods", evaluation_periods, 1, 1440)
    check_range(f"{prop}.datapoints", datapoints, 1)
    if datapoints > evaluation_periods:
        raise invalid(
            f"{prop}.evaluation_periods",
            evaluation_periods,
            f">= datapoints ({datapoints}): an alarm cannot need more breaching datapoints "
            "than it evaluates",
        )


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#L W-]+$")


def check_cron(prop: str, expression: str) -> str:
    """An Application Auto Scaling / EventBridge six-field ``cron(...)`` expression."""
    cron = _CRON.match(expression)
    if cron is None or not all(_CRON_FIELD.match(field) for field in cron.groups()):
        raise invalid(
            prop,
            expression,
            "a six-field 'cron(min hour day-of-month month day-of-week year)', "
            "e.g. 'cron(0 8 ? * MON-FRI *)'",
        )
    minute, hour = cron.group(1), cron.group(2)
    for name, field, high in (("minute", minute, 59), ("hour", hour, 23)):
        for part in re.split(r"[,/-]", field):
            if part.isdigit() and int(part) > high:
                raise invalid(prop, expression, f"a cron {name} field between 0 and {high}")
    return check_schedule_expression(prop, expression)


def check_time_zone(prop: str, time_zone: str) -> str:
    """An IANA time zone name known to this Python (``zoneinfo``), e.g. ``Europe/Paris``."""
    import zoneinfo  # noqa: PLC0415 - only needed here

    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise invalid(prop, time_zone, "an IANA time zone like 'Europe/Paris' or 'UTC'") from None
    return time_zone


ALARM_THRESHOLDS: dict[str, tuple[str, str]] = {
    "max_cpu_percent": ("percent", "all"),
    "max_memory_percent": ("percent", "all"),
    "min_running_tasks_percent": ("percent", "all"),
    "max_5xx_percent": ("percent", "web"),
    "max_elb_5xx_count": ("count", "web"),
    "max_p99_latency_ms": ("count", "web"),
    "max_unhealthy_hosts": ("count", "web network"),
    "max_rejected_connections": ("count", "web"),
    "max_tcp_resets": ("count", "network"),
    "max_queue_age_seconds": ("count", "worker"),
    "max_dlq_messages": ("count", "worker"),
}
"""Alarm threshold names (direction + unit) -> (unit kind, the service kinds they apply to)."""

SEVERITIES = ("warning", "critical")


def check_threshold(prop: str, name: str, value: float) -> float:
    """A known threshold name with a value in its unit's range (percent 0-100, else >= 0)."""
    if name not in ALARM_THRESHOLDS:
        raise invalid(prop, name, f"one of the alarm thresholds {sorted(ALARM_THRESHOLDS)}")
    if ALARM_THRESHOLDS[name][0] == "percent":
        return check_percent(f"{prop}.{name}", value)
    if value < 0:
        raise invalid(f"{prop}.{name}", value, ">= 0")
    return value
