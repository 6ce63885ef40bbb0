"""The capacity teardown Lambda (constructs_lib/_teardown_handler.py) run against moto's
Auto Scaling (real: groups, instance protection, lifecycle hooks) with a local HTTP server
standing in for CloudFormation's pre-signed response URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws

from constructs_lib import _teardown_handler as teardown

GROUP = "ecs-capacity"
HOOK = "ecs-managed-draining-termination-hook"


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["content-length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _Recorder.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", _Recorder.bodies
    server.shutdown()
    server.server_close()


@pytest.fixture
def autoscaling(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        ec2.create_launch_template(
            LaunchTemplateName="ecs-lt",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.small"},
        )
        client = boto3.client("autoscaling", region_name="us-east-1")
        client.create_auto_scaling_group(
            AutoScalingGroupName=GROUP,
            LaunchTemplate={"LaunchTemplateName": "ecs-lt"},
            MinSize=0,
            MaxSize=4,
            DesiredCapacity=3,
            VPCZoneIdentifier=subnet,
            NewInstancesProtectedFromScaleIn=True,
        )
        client.put_lifecycle_hook(
            AutoScalingGroupName=GROUP,
            LifecycleHookName=HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        )
        client.put_lifecycle_hook(
            AutoScalingGroupName=GROUP,
            LifecycleHookName="team-hook",
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
        )
        yield client


def event(kind: str, url: str, group: str = GROUP) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "RequestId": "r-1",
        "LogicalResourceId": "Teardown",
        "PhysicalResourceId": "Teardown",
        "ResourceProperties": {"AutoScalingGroupName": group},
    }


def group_state(client: Any) -> tuple[bool, list[bool], list[str]]:
    (group,) = client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])[
        "AutoScalingGroups"
    ]
    hooks = client.describe_lifecycle_hooks(AutoScalingGroupName=GROUP)["LifecycleHooks"]
    return (
        group["NewInstancesProtectedFromScaleIn"],
        [i["ProtectedFromScaleIn"] for i in group["Instances"]],
        sorted(h["LifecycleHookName"] for h in hooks),
    )


def test_delete_releases_protection_and_answers(autoscaling: Any, response_url: Any) -> None:
    url, bodies = response_url
    assert group_state(autoscaling) == (True, [True, True, True], [HOOK, "team-hook"])
    teardown.handler(event("Delete", url), None, client=autoscaling)
    assert group_state(autoscaling) == (False, [False, False, False], ["team-hook"])
    (body,) = bodies
    assert body["Status"] == "SUCCESS"
    assert body["Reason"] == f"released 3 instances of {GROUP}"
    assert body["PhysicalResourceId"] == "Teardown"
    assert body["LogicalResourceId"] == "Teardown"


def test_create_and_update_change_nothing(autoscaling: Any, response_url: Any) -> None:
    url, bodies = response_url
    teardown.handler(event("Create", url), None, client=autoscaling)
    teardown.handler(event("Update", url), None, client=autoscaling)
    assert group_state(autoscaling) == (True, [True, True, True], [HOOK, "team-hook"])
    assert [b["Status"] for b in bodies] == ["SUCCESS", "SUCCESS"]


def test_a_missing_group_or_an_error_never_blocks_the_stack(
    autoscaling: Any, response_url: Any
) -> None:
    url, bodies = response_url
    teardown.handler(event("Delete", url, group="gone"), None, client=autoscaling)

    class Broken:
        def describe_auto_scaling_groups(self, **_: Any) -> Any:
            raise RuntimeError("AccessDenied")

    teardown.handler(event("Delete", url), None, client=Broken())
    assert [b["Status"] for b in bodies] == ["SUCCESS", "SUCCESS"]
    assert bodies[0]["Reason"] == "released 0 instances of gone"
    assert "teardown helper failed (stack deletion continues): AccessDenied" in bodies[1]["Reason"]


def test_handler_fits_inline_lambda_code_limit() -> None:
    from pathlib import Path

    assert len(Path(teardown.__file__).read_bytes()) < 4096
