"""constructs_lib.DaemonService and the legacy ClassicLoadBalancedService (EC2 only)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import (
    ClassicLoadBalancedService,
    ContainerSpec,
    DaemonService,
    EcskitValidationError,
    ImageRef,
)
from tests.conftest import unit_app
from tests.helpers import cluster_stack, only, synth_with_messages, web_container

AGENT = ContainerSpec(
    image=ImageRef.from_registry("public.ecr.aws/docker/library/busybox:stable"),
    command=("sh", "-c", "sleep 3600"),
)


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict[str, Template], dict[str, list[str]]]:
    app = unit_app()
    stack, cluster = cluster_stack(app, "Daemon", ec2_capacity=False)
    cluster.add_ec2_capacity("graviton", instance_types=["m7g.large", "m6g.large"], max_capacity=2)
    DaemonService(stack, "Agent", cluster=cluster, container=AGENT)

    stack, cluster = cluster_stack(app, "Mixed")
    DaemonService(
        stack,
        "Agent",
        cluster=cluster,
        container=AGENT,
        capacity="intel",
        network_mode="awsvpc",
        min_healthy_percent=0,
        enable_execute_command=True,
    )

    stack, cluster = cluster_stack(app, "Legacy")
    ClassicLoadBalancedService(
        stack,
        "Web",
        cluster=cluster,
        container=web_container(),
        capacity="intel",
        ingress_cidrs=["203.0.113.0/24"],
        health_check_path="/health",
        desired_count=2,
    )
    return synth_with_messages(app)


@pytest.fixture(scope="module")
def templates(synthesized: tuple[dict[str, Template], Any]) -> dict[str, Template]:
    return synthesized[0]


def test_daemon_one_task_per_instance_on_ec2(templates: dict[str, Template]) -> None:
    t = templates["Daemon"]
    _, svc = only(t, "AWS::ECS::Service")
    assert svc["SchedulingStrategy"] == "DAEMON"
    assert svc["LaunchType"] == "EC2"  # ECS refuses a capacity provider strategy for daemons
    assert "CapacityProviderStrategy" not in svc
    assert "DesiredCount" not in svc
    assert svc["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": False, "Rollback": False},
        "MaximumPercent": 100,
        "MinimumHealthyPercent": 50,
    }
    assert svc["PlacementConstraints"] == [
        {"Expression": "attribute:ecs.cpu-architecture == arm64", "Type": "memberOf"}
    ]
    assert "NetworkConfiguration" not in svc
    _, task = only(t, "AWS::ECS::TaskDefinition")
    assert task["NetworkMode"] == "bridge"
    assert task["RequiresCompatibilities"] == ["EC2"]
    assert (task["Cpu"], task["Memory"]) == ("128", "256")


def test_daemon_restricted_to_one_capacity(templates: dict[str, Template]) -> None:
    t = templates["Mixed"]
    _, svc = only(t, "AWS::ECS::Service")
    assert svc["PlacementConstraints"] == [
        {"Expression": "attribute:ecs.cpu-architecture == x86_64", "Type": "memberOf"},
        {"Expression": "attribute:ecs.instance-type in [t3.medium]", "Type": "memberOf"},
    ]
    assert svc["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    assert svc["EnableExecuteCommand"] is True
    assert "AwsvpcConfiguration" in svc["NetworkConfiguration"]
    _, task = only(t, "AWS::ECS::TaskDefinition")
    assert task["NetworkMode"] == "awsvpc"


def test_legacy_classic_load_balancer(templates: dict[str, Template]) -> None:
    t = templates["Legacy"]
    clb, lb = only(t, "AWS::ElasticLoadBalancing::LoadBalancer")
    assert lb["Listeners"] == [
        {
            "InstancePort": "80",
            "InstanceProtocol": "http",
            "LoadBalancerPort": "80",
            "Protocol": "http",
        }
    ]
    assert lb["HealthCheck"]["Target"] == "HTTP:80/health"
    assert lb["Scheme"] == "internet-facing"
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/Web/LoadBalancer/SecurityGroup")
    assert [(r["CidrIp"], r["FromPort"]) for r in sg["SecurityGroupIngress"]] == [
        ("203.0.113.0/24", 80)
    ]
    _, svc = only(t, "AWS::ECS::Service")
    intel, _ = only(t, "AWS::ECS::CapacityProvider", "/intel/")
    assert svc["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": intel}, "Weight": 1}]
    assert svc["LoadBalancers"] == [
        {"ContainerName": "app", "ContainerPort": 80, "LoadBalancerName": {"Ref": clb}}
    ]
    assert svc["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": False, "Rollback": False},
        "MaximumPercent": 100,
        "MinimumHealthyPercent": 50,
    }
    assert svc["DesiredCount"] == 2
    assert "AvailabilityZoneRebalancing" not in svc
    _, task = only(t, "AWS::ECS::TaskDefinition")
    assert task["NetworkMode"] == "bridge"
    assert task["ContainerDefinitions"][0]["PortMappings"] == [
        {"ContainerPort": 80, "HostPort": 80, "Protocol": "tcp"}
    ]


def test_no_synth_warnings(synthesized: tuple[Any, dict[str, list[str]]]) -> None:
    assert {name: found for name, found in synthesized[1].items() if found} == {}


# --- validation -------------------------------------------------------------------------------


def test_daemon_on_a_fargate_only_cluster() -> None:
    stack, cluster = cluster_stack(unit_app(), "S", ec2_capacity=False)
    with pytest.raises(
        EcskitValidationError,
        match=r"DaemonService\.cluster must be a cluster with EC2 capacity \(a daemon runs one task per EC2 instance; Fargate has no instances\).*got \['FARGATE', 'FARGATE_SPOT'\]",
    ):
        DaemonService(stack, "Agent", cluster=cluster, container=AGENT)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"capacity": "FARGATE"}, r"DaemonService\.capacity must be one of the cluster's EC2 capacities \['general', 'intel'\] \(a daemon runs one task per EC2 instance; Fargate has no instances\), got 'FARGATE'"),
        ({"capacity": "gpu"}, r"DaemonService\.capacity must be one of the cluster's EC2 capacities \['general', 'intel'\], got 'gpu'"),
        ({}, r"DaemonService\.cpu_architecture must be 'x86_64' or 'arm64': the cluster's EC2 capacities mix architectures"),
        ({"capacity": "general", "cpu_architecture": "x86_64"}, r"DaemonService\.cpu_architecture must be 'arm64' to run on EC2 capacity 'general'"),
        ({"cpu_architecture": "arm64", "network_mode": "nat"}, r"DaemonService\.network_mode must be one of \['bridge', 'host', 'awsvpc'\], got 'nat'"),
        ({"cpu_architecture": "arm64", "min_healthy_percent": 100}, r"DaemonService\.min_healthy_percent must be between 0 and 99, got 100"),
    ],
)  # fmt: skip
def test_bad_daemon_props(props: dict[str, Any], message: str) -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    with pytest.raises(EcskitValidationError, match=message):
        DaemonService(stack, "Agent", cluster=cluster, container=AGENT, **props)


def test_daemons_do_not_autoscale() -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    daemon = DaemonService(stack, "Agent", cluster=cluster, container=AGENT, capacity="intel")
    with pytest.raises(
        EcskitValidationError,
        match=r"DaemonService\.auto_scale_task_count is not available: a daemon runs one task per EC2 instance \(asked for 1-2\); scale the EC2 capacity instead",
    ):
        daemon.auto_scale_task_count(min_tasks=1, max_tasks=2)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"capacity": "FARGATE"}, r"ClassicLoadBalancedService\.capacity must be one of the cluster's EC2 capacities \['general', 'intel'\] \(Fargate cannot register with a Classic Load Balancer\), got 'FARGATE'"),
        ({"container": AGENT}, r"ClassicLoadBalancedService\.container\.port must be a TCP container port, got None"),
        ({"listener_port": 0}, r"ClassicLoadBalancedService\.listener_port must be between 1 and 65535, got 0"),
        ({"max_healthy_percent": 300}, r"ClassicLoadBalancedService\.max_healthy_percent must be between 100 and 200, got 300"),
        ({"capacity": "general"}, r"ClassicLoadBalancedService\.cpu_architecture must be 'arm64' to run on EC2 capacity 'general'"),
    ],
)  # fmt: skip
def test_bad_legacy_props(props: dict[str, Any], message: str) -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    kwargs: dict[str, Any] = {"container": web_container(), "capacity": "intel", **props}
    with pytest.raises(EcskitValidationError, match=message):
        ClassicLoadBalancedService(stack, "Web", cluster=cluster, **kwargs)
