"""Fixtures: fake credentials, no network, moto in-process, a fake clock, one ECS world."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.runtime.aws import Clients, make_clients
from tests.runtime.scenario import FakeClock, Script

REGION = "us-east-1"
CLUSTER = "main"
LOG_GROUP = "/ecs/app"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no shared config; no socket may connect anywhere."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # faster moto EC2 start

    def no_network(self: socket.socket, address: Any) -> None:
        raise RuntimeError(f"test tried to reach the network: {address!r}")

    def no_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"test tried to resolve {host!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_resolve)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def moto() -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def boto_session() -> Any:
    """One boto3 session for the whole run: its loaded service models are reused."""
    import boto3
    import moto  # noqa: F401 - must be imported first: it adds its hook to new sessions

    return boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def clients(moto: None, clock: FakeClock, boto_session: Any) -> Clients:
    return make_clients(region=REGION, clock=clock, session=boto_session)


@pytest.fixture
def ecs_script(clients: Clients) -> Script:
    return Script(clients.ecs)


@dataclass
class World:
    """What the ``world`` fixture created in moto."""

    clients: Clients
    subnet: str
    security_group: str
    task_definition: str = "migrate"
    service: str = "web"


@pytest.fixture
def world(clients: Clients, monkeypatch: pytest.MonkeyPatch, boto_session: Any) -> World:
    """moto: a cluster, a VPC subnet + security group, a log group, a task definition with an
    essential ``app`` container and a non-essential ``envoy`` sidecar, and a Fargate service."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    # moto 5.2.5 quirk: RunTask for awsvpc tasks reads an ENI attribute it never sets.
    monkeypatch.setattr(
        NetworkInterface, "private_dns_name", "ip-10-0-1-10.ec2.internal", raising=False
    )
    ec2 = boto_session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    clients.ecs.create_cluster(clusterName=CLUSTER)
    clients.logs.create_log_group(logGroupName=LOG_GROUP)

    def container(name: str, essential: bool) -> dict[str, Any]:
        return {
            "name": name,
            "image": f"example/{name}:1",
            "essential": essential,
            "memory": 256,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": LOG_GROUP,
                    "awslogs-region": REGION,
                    "awslogs-stream-prefix": "ecs",
                },
            },
        }

    clients.ecs.register_task_definition(
        family="migrate",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container("app", True), container("envoy", False)],
    )
    clients.ecs.create_service(
        cluster=CLUSTER,
        serviceName="web",
        taskDefinition="migrate",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [subnet],
                "securityGroups": [sg],
                "assignPublicIp": "DISABLED",
            }
        },
    )
    return World(clients=clients, subnet=subnet, security_group=sg)
