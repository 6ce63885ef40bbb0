"""Fixtures: fake credentials, no network, moto in-process, a fake clock, one ECS world.

Speed: moto runs once for the whole package (``aws_backend``) and the ECS world is created in
it once (``world_resources``); a moto reset and a fresh VPC per test cost ~0.3 s each. Tests
stay independent because everything a test changes is its own: each test gets new boto3
clients (scripted hooks live on a client, so they die with it), a new fake clock, tasks and
log streams named by task id, and its own cluster name wherever it creates a cluster or service.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from constructs_lib.runtime.aws import Clients, make_clients
from tests.runtime.scenario import FakeClock, Script

REGION = "us-east-1"
CLUSTER = "main"
LOG_GROUP = "/ecs/app"


@pytest.fixture(scope="package", autouse=True)
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake credentials and region; no shared config; no socket may connect anywhere."""
    home = tmp_path_factory.mktemp("aws")

    def no_network(self: socket.socket, address: Any) -> None:
        raise RuntimeError(f"test tried to reach the network: {address!r}")

    def no_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"test tried to resolve {host!r}")

    with pytest.MonkeyPatch.context() as mp:
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "GITHUB_STEP_SUMMARY"):
            mp.delenv(key, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_SESSION_TOKEN", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", str(home / "no-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # faster moto EC2 start
        mp.setattr(socket.socket, "connect", no_network)
        mp.setattr(socket, "getaddrinfo", no_resolve)
        yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="package")
def boto_session(aws_env: None) -> Any:
    """One boto3 session for the whole run: its loaded service models are reused."""
    import boto3
    import moto  # noqa: F401 - must be imported first: it adds its hook to new sessions

    return boto3.session.Session(
        region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _import_moto_ec2(session: Any) -> None:
    """Import moto's EC2 models (which moto's ECS needs) with ``boto3.Session()`` answered by
    ``session``: at import, moto lists the EC2 regions with three new sessions, each loading
    botocore's endpoint data again (~0.9 s of the ~1.3 s import). Same regions, one load."""
    import boto3

    original = boto3.Session

    def shared_session(*args: Any, **kwargs: Any) -> Any:
        return session if not args and not kwargs else original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(boto3, "Session", shared_session)
        import moto.ec2.models  # noqa: F401 - imported for its side effect, under the patch


@pytest.fixture(scope="package")
def aws_backend(aws_env: None, boto_session: Any) -> Iterator[None]:
    """moto, started once for the package (each test's resources have their own names)."""
    _import_moto_ec2(boto_session)
    from moto import mock_aws

    from constructs_lib.local.patches import eni_private_dns_name_patch

    with pytest.MonkeyPatch.context() as mp, mock_aws():
        # moto 5.2.5 quirk: RunTask for awsvpc tasks reads an ENI attribute it never sets
        # (the local emulator's fix, applied here to in-process moto).
        mp.setattr(*eni_private_dns_name_patch(), raising=False)
        yield


@dataclass(frozen=True)
class Raw:
    """Plain moto clients for test set-up: no rate limiter, no scripted hooks, no fake clock."""

    ecs: Any
    logs: Any
    cloudwatch: Any
    ec2: Any


@pytest.fixture(scope="package")
def raw(aws_backend: None, boto_session: Any) -> Raw:
    from botocore.config import Config

    return Raw(
        ecs=boto_session.client("ecs"),
        # Set-up writes 10,000-line batches: botocore's parameter validation would be ~0.1 s.
        logs=boto_session.client("logs", config=Config(parameter_validation=False)),
        cloudwatch=boto_session.client("cloudwatch"),
        ec2=boto_session.client("ec2"),
    )


@pytest.fixture
def clients(aws_backend: None, clock: FakeClock, boto_session: Any) -> Clients:
    """New clients per test (~10 ms): scripted hooks registered on them end with the test."""
    return make_clients(region=REGION, clock=clock, session=boto_session)


@pytest.fixture
def ecs_script(clients: Clients) -> Script:
    return Script(clients.ecs)


@dataclass(frozen=True)
class Network:
    subnet: str
    security_group: str


@dataclass
class World:
    """What ``world_resources`` created in moto, with this test's clients."""

    clients: Clients
    raw: Raw
    subnet: str
    security_group: str
    task_definition: str = "migrate"
    service: str = "web"


@pytest.fixture(scope="package")
def world_resources(raw: Raw) -> Iterator[Network]:
    """moto, once: a cluster, a VPC subnet + security group, a log group, a task definition
    with an essential ``app`` container and a non-essential ``envoy`` sidecar, and a Fargate
    service ``web``. Tests must not change these (add their own instead)."""
    vpc = raw.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = raw.ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20")["Subnet"]["SubnetId"]
    sg = raw.ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    raw.ecs.create_cluster(clusterName=CLUSTER)
    raw.logs.create_log_group(logGroupName=LOG_GROUP)

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

    raw.ecs.register_task_definition(
        family="migrate",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container("app", True), container("envoy", False)],
    )
    raw.ecs.create_service(
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
    # moto and the service models are ~1M long-lived objects; without this every full
    # collection in later tests walks them all again (~0.1 s each, ~1 s per run).
    gc.collect()
    gc.freeze()
    yield Network(subnet=subnet, security_group=sg)
    gc.unfreeze()


@pytest.fixture
def world(clients: Clients, raw: Raw, world_resources: Network) -> World:
    return World(
        clients=clients,
        raw=raw,
        subnet=world_resources.subnet,
        security_group=world_resources.security_group,
    )
