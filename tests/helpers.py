"""Shared helpers for the service construct tests (no fixtures: those are in conftest.py)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from constructs_lib import ComputeCluster, ContainerSpec, ImageRef

REGION = "eu-west-1"
ZONES = ["eu-west-1a", "eu-west-1b"]
WEB_IMAGE = "public.ecr.aws/nginx/nginx:stable"


def web_container(**overrides: Any) -> ContainerSpec:
    return ContainerSpec(**{"image": ImageRef.from_registry(WEB_IMAGE), "port": 80, **overrides})


def cluster_stack(
    app: Any, name: str, *, ec2_capacity: bool = True, fargate: bool = True
) -> tuple[Stack, ComputeCluster]:
    """A stack (with a region, as real ones have) holding a VPC and a cluster with Fargate and,
    by default, an arm64 EC2 capacity ``general`` and an x86_64 one ``intel``."""
    stack = Stack(app, name, env=Environment(region=REGION))
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=ZONES, nat_gateways=1)
    cluster = ComputeCluster(stack, "Cluster", vpc=vpc, enable_fargate=fargate)
    if ec2_capacity:
        cluster.add_ec2_capacity("general", instance_types=["t4g.medium"], max_capacity=2)
        cluster.add_ec2_capacity("intel", instance_types=["t3.medium"], max_capacity=2)
    return stack, cluster


def resources(template: Template, type_: str, path_part: str = "") -> dict[str, dict[str, Any]]:
    """Resources of ``type_`` whose construct path contains ``path_part``, by logical id."""
    found: dict[str, dict[str, Any]] = template.find_resources(type_)
    return {k: v for k, v in found.items() if path_part in v["Metadata"]["aws:cdk:path"]}


def only(template: Template, type_: str, path_part: str = "") -> tuple[str, dict[str, Any]]:
    """The one resource of ``type_`` under ``path_part``: (logical id, its Properties)."""
    matches = resources(template, type_, path_part)
    assert len(matches) == 1, (type_, path_part, sorted(matches))
    ((logical_id, resource),) = matches.items()
    return logical_id, resource.get("Properties", {})


def synth_with_messages(app: Any) -> tuple[dict[str, Template], dict[str, list[str]]]:
    """Synthesize ``app`` once: Templates and the warning/error messages, by stack name."""
    assembly = app.synth()
    templates = {s.stack_name: Template.from_json(s.template) for s in assembly.stacks}
    messages = {
        s.stack_name: [
            f"{m.level}: {m.id}: {m.entry.data}"
            for m in s.messages
            if str(m.level).lower().endswith(("warning", "error"))
        ]
        for s in assembly.stacks
    }
    return templates, messages
