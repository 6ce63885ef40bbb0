"""Pure validation rules shared by the constructs and by ``stacks/config.py``.

No aws_cdk import: the typed app configuration calls these before any construct is built, and
the constructs call them again on their props, so a rule lives in exactly one place.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
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
    return "arm64" if _GRAVITON_FAMILY.match(family) and family != "mac2" else "x86_64"


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
