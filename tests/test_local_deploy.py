"""``make deploy``'s local target: the dev app deployed by the real CDK CLI into the patched moto
server (constructs_lib.local), read back through boto3 and compared with the synthesized
templates (expected values come from the templates, nothing is hard-coded).

One deploy per module (``deployed``): the dev cloud assembly of ``dev_cli_synth`` is deployed
as is (``cdk deploy --app <assembly>``, no second synth), after ``cdk bootstrap``.

What moto still drops is listed in ``DROPPED`` (one line per gap). Those properties are not
compared as if they matched: ``test_dropped_properties_are_still_dropped`` checks that each
is really still missing or different, so the list stays true when moto changes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.local import deploy as local_deploy
from constructs_lib.local import patches
from constructs_lib.local.deploy import DeployResult, deploy, destroy, read_assembly
from constructs_lib.local.errors import LocalEmulatorError
from constructs_lib.local.server import _answers, free_port, running, start, stop

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parents[1]

# (resource type, property path in the template): what the emulator does not give back, of
# the resource types compared below. Empty today: every compared property round-trips.
DROPPED: list[tuple[str, str]] = []

# Resource types of the dev app that moto 5.2.5 skips entirely (no model, no physical
# resource): created by nobody, so nothing of them can be read back. One line per gap.
SKIPPED_TYPES: dict[str, str] = {
    "AWS::Scheduler::Schedule": "the nightly job's EventBridge Scheduler schedule",
    "AWS::SNS::TopicPolicy": "who may publish to the alarm topic",
    "AWS::SQS::QueuePolicy": "who may send to the worker queues",
    "AWS::CDK::Metadata": "CDK's analytics, no service behind it",
}

# Template properties not compared, and why (not fidelity gaps of the emulator).
NOT_COMPARED = {
    "Tags",  # checked on every resource by tests/test_app.py; several APIs need a second call
    "Cluster",  # resolved to the cluster by the lookup itself
    "ServiceName",
    "TaskDefinition",  # compared as family:revision below
    "ScalingTargetId",  # resolved into ResourceId/ScalableDimension/ServiceNamespace
    "ScheduledActions",  # a separate API (DescribeScheduledActions), compared in its own test
    "LoadBalancerArn",  # the listener is looked up through it
}

_UNRESOLVED = object()


@dataclass
class Deployed:
    result: DeployResult
    session: Any
    templates: dict[str, dict[str, Any]]
    physical: dict[str, dict[str, str]]  # stack -> logical id -> physical id
    outputs: dict[str, dict[str, str]]
    seconds: float

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.result.emulator.endpoint)

    def resources(self, resource_type: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, properties) of every template resource of that type."""
        for stack, template in self.templates.items():
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] == resource_type:
                    yield stack, logical_id, resource.get("Properties", {})

    def resolve(self, stack: str, value: Any) -> Any:  # noqa: PLR0911 - one per intrinsic
        """A template value with Ref/GetAtt/Join/Select/Split/GetStackOutput resolved against
        what was deployed; what cannot be resolved here becomes ``_UNRESOLVED``."""
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            pseudo = {
                "AWS::AccountId": "123456789012",
                "AWS::Region": self.result.region,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            }
            return pseudo.get(value["Ref"]) or self.physical[stack].get(value["Ref"], _UNRESOLVED)
        if "Fn::GetStackOutput" in value:
            spec = value["Fn::GetStackOutput"]
            return self.outputs[spec["StackName"]][spec["OutputName"]]
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            resolved = [self.resolve(stack, p) for p in parts]
            if any(p is _UNRESOLVED for p in resolved):
                return _UNRESOLVED
            return sep.join(str(p) for p in resolved)
        if "Fn::Select" in value:
            index, items = value["Fn::Select"]
            items = self.resolve(stack, items)
            return _UNRESOLVED if items is _UNRESOLVED else items[int(index)]
        if "Fn::Split" in value:
            sep, text = value["Fn::Split"]
            text = self.resolve(stack, text)
            return _UNRESOLVED if text is _UNRESOLVED else text.split(sep)
        if "Fn::GetAtt" in value:
            return self._get_att(stack, *value["Fn::GetAtt"])
        return {k: self.resolve(stack, v) for k, v in value.items()}

    def _get_att(self, stack: str, logical_id: str, attribute: str) -> Any:  # noqa: PLR0911
        resource_type = self.templates[stack]["Resources"][logical_id]["Type"]
        physical = self.physical[stack][logical_id]
        if resource_type == "AWS::IAM::Role" and attribute == "Arn":
            return self.client("iam").get_role(RoleName=physical)["Role"]["Arn"]
        if resource_type == "AWS::ECS::Service" and attribute == "Name":
            return physical.split("/")[-1]
        if resource_type == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
            return physical  # a service's security groups (awsvpc configuration)
        if resource_type == "AWS::SQS::Queue" and attribute == "QueueName":
            return physical.rsplit("/", 1)[-1]  # Ref of a queue is its URL
        if attribute == "TargetGroupFullName":
            return physical.split(":")[-1]
        if attribute == "LoadBalancerFullName":
            return physical.split(":loadbalancer/")[-1]
        return _UNRESOLVED


@pytest.fixture(scope="module")
def deployed(
    dev_cli_synth: tuple[Any, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    import boto3

    assembly = dev_cli_synth[1]
    state = tmp_path_factory.mktemp("ecskit-local")
    began = time.monotonic()
    result = deploy(
        "dev", port=free_port(), state_dir=state, app=assembly, echo=None, show_status=False
    )
    seconds = time.monotonic() - began
    try:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=result.region
        )
        cfn = session.client("cloudformation", endpoint_url=result.emulator.endpoint)
        templates, physical, outputs = {}, {}, {}
        for stack in result.stacks:
            templates[stack] = json.loads((assembly / f"{stack}.template.json").read_text())
            resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
            physical[stack] = {
                r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in resources
                if r.get("PhysicalResourceId")
            }
            description = cfn.describe_stacks(StackName=stack)["Stacks"][0]
            outputs[stack] = {o["OutputKey"]: o["OutputValue"] for o in description["Outputs"]}
        yield Deployed(result, session, templates, physical, outputs, seconds)
    finally:
        stop(state)


# --- comparison ---------------------------------------------------------------------------------


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


_RENAMED = {"RoleARN": "RoleARN", "PlacementStrategies": "placementStrategy"}


def _lookup(actual: dict[str, Any], key: str) -> Any:
    for candidate in (_RENAMED.get(key, key), key, _lower_first(key)):
        if candidate in actual:
            return actual[candidate]
    return _MISSING


_MISSING = object()


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    try:
        return float(expected) == float(actual)
    except (TypeError, ValueError):
        return str(expected) == str(actual)


def mismatches(expected: Any, actual: Any, path: str = "") -> list[str]:  # noqa: PLR0911
    """Where ``actual`` (API answer) differs from ``expected`` (resolved template value);
    unresolved template leaves are skipped, lists are compared in any order."""
    if expected is _UNRESOLVED:
        return []
    if actual is _MISSING or actual is None:
        return [f"{path}: expected {expected!r}, missing"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a map, got {actual!r}"]
        found: list[str] = []
        for key, value in expected.items():
            found += mismatches(value, _lookup(actual, key), f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        remaining = list(actual)
        for item in expected:
            match = next((a for a in remaining if not mismatches(item, a)), _MISSING)
            if match is _MISSING:
                return [f"{path}: {item!r} not in {actual!r}"]
            remaining.remove(match)
        return []
    return (
        [] if _same_scalar(expected, actual) else [f"{path}: expected {expected!r}, got {actual!r}"]
    )


def unresolved(value: Any, path: str = "") -> list[str]:
    """Paths of the template leaves ``Deployed.resolve`` could not resolve (not compared)."""
    if value is _UNRESOLVED:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unresolved(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unresolved(v, f"{path}[{i}]")]
    return []


def compare(
    deployed: Deployed,
    stack: str,
    resource_type: str,
    props: dict[str, Any],
    actual: dict[str, Any],
) -> list[str]:
    dropped = {path for rtype, path in DROPPED if rtype == resource_type}
    problems: list[str] = []
    for key, value in props.items():
        if key in NOT_COMPARED or key in dropped:
            continue
        expected = deployed.resolve(stack, value)
        # a leaf the test cannot resolve would be skipped silently: teach Deployed.resolve
        problems += [f"{p}: cannot resolve {value!r}" for p in unresolved(expected, key)]
        problems += mismatches(expected, _lookup(actual, key), key)
    return problems


def _cluster(deployed: Deployed) -> str:
    return deployed.outputs["ecskit-dev-Platform"]["ClusterName"]


def actual_state(  # noqa: PLR0911 - one per resource type
    deployed: Deployed, resource_type: str, stack: str, logical_id: str
) -> dict[str, Any]:
    """The API's view of one deployed resource."""
    physical = deployed.physical[stack][logical_id]
    if resource_type == "AWS::ECS::Cluster":
        ecs = deployed.client("ecs")
        answer = ecs.describe_clusters(clusters=[physical], include=["SETTINGS", "CONFIGURATIONS"])
        cluster = answer["clusters"][0]
        return {**cluster, "clusterSettings": cluster.get("settings")}
    if resource_type == "AWS::ECS::CapacityProvider":
        ecs = deployed.client("ecs")
        return ecs.describe_capacity_providers(capacityProviders=[physical])["capacityProviders"][0]  # type: ignore[no-any-return]
    if resource_type == "AWS::ECS::ClusterCapacityProviderAssociations":
        ecs = deployed.client("ecs")
        return ecs.describe_clusters(clusters=[_cluster(deployed)])["clusters"][0]  # type: ignore[no-any-return]
    if resource_type == "AWS::ECS::Service":
        ecs = deployed.client("ecs")
        return ecs.describe_services(cluster=_cluster(deployed), services=[physical])["services"][0]  # type: ignore[no-any-return]
    if resource_type == "AWS::ECS::TaskDefinition":
        ecs = deployed.client("ecs")
        return ecs.describe_task_definition(taskDefinition=physical)["taskDefinition"]  # type: ignore[no-any-return]
    if resource_type == "AWS::ElasticLoadBalancingV2::TargetGroup":
        elb = deployed.client("elbv2")
        group = elb.describe_target_groups(TargetGroupArns=[physical])["TargetGroups"][0]
        attributes = elb.describe_target_group_attributes(TargetGroupArn=physical)["Attributes"]
        return {
            **group,
            "TargetGroupAttributes": _only_template_keys(
                deployed, stack, logical_id, "TargetGroupAttributes", attributes
            ),
        }
    if resource_type == "AWS::ElasticLoadBalancingV2::Listener":
        elb = deployed.client("elbv2")
        return elb.describe_listeners(ListenerArns=[physical])["Listeners"][0]  # type: ignore[no-any-return]
    if resource_type == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        elb = deployed.client("elbv2")
        lb = elb.describe_load_balancers(LoadBalancerArns=[physical])["LoadBalancers"][0]
        attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=physical)["Attributes"]
        return {
            **lb,
            "Subnets": [az["SubnetId"] for az in lb["AvailabilityZones"]],
            "LoadBalancerAttributes": _only_template_keys(
                deployed, stack, logical_id, "LoadBalancerAttributes", attributes
            ),
        }
    if resource_type == "AWS::ApplicationAutoScaling::ScalableTarget":
        resource_id, _, namespace = physical.split("|")
        aas = deployed.client("application-autoscaling")
        targets = aas.describe_scalable_targets(
            ServiceNamespace=namespace, ResourceIds=[resource_id]
        )
        return targets["ScalableTargets"][0]  # type: ignore[no-any-return]
    if resource_type == "AWS::ApplicationAutoScaling::ScalingPolicy":
        aas = deployed.client("application-autoscaling")
        policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
        return next(p for p in policies if p["PolicyARN"] == physical)
    if resource_type == "AWS::CloudWatch::Alarm":
        cw = deployed.client("cloudwatch")
        return cw.describe_alarms(AlarmNames=[physical])["MetricAlarms"][0]  # type: ignore[no-any-return]
    raise AssertionError(resource_type)


def _only_template_keys(
    deployed: Deployed, stack: str, logical_id: str, prop: str, attributes: list[dict[str, str]]
) -> list[dict[str, str]]:
    """The API lists every attribute (defaults too): keep the keys the template sets."""
    props = deployed.templates[stack]["Resources"][logical_id]["Properties"]
    keys = {a["Key"] for a in props.get(prop, [])}
    return [a for a in attributes if a["Key"] in keys]


TYPES = [
    "AWS::ECS::Cluster",
    "AWS::ECS::CapacityProvider",
    "AWS::ECS::ClusterCapacityProviderAssociations",
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
]


# --- tests --------------------------------------------------------------------------------------


def test_every_stack_is_create_complete(deployed: Deployed) -> None:
    cfn = deployed.client("cloudformation")
    assert deployed.result.stacks == [
        "ecskit-dev-Network",
        "ecskit-dev-Platform",
        "ecskit-dev-Services",
    ]
    for stack in deployed.result.stacks:
        assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    # bootstrap + deploy of 3 stacks through the real CDK CLI; the figure goes to the report
    assert set(deployed.result.timings) >= {"start", "bootstrap", "deploy"}
    assert deployed.seconds < 180, deployed.result.timings


@pytest.mark.parametrize("resource_type", TYPES)
def test_deployed_resources_match_the_template(deployed: Deployed, resource_type: str) -> None:
    compared = 0
    problems: list[str] = []
    for stack, logical_id, props in deployed.resources(resource_type):
        actual = actual_state(deployed, resource_type, stack, logical_id)
        problems += [
            f"{logical_id}.{p}" for p in compare(deployed, stack, resource_type, props, actual)
        ]
        compared += 1
    assert compared > 0, f"no {resource_type} in the dev app"
    assert not problems, "\n".join(problems)


def test_dropped_properties_are_still_dropped(deployed: Deployed) -> None:
    """Each DROPPED line is a real gap today: the property is in the template and does not
    come back through the API (if moto starts returning one, delete its line)."""
    for resource_type, path in DROPPED:
        seen = False
        for stack, logical_id, props in deployed.resources(resource_type):
            if path not in props:
                continue
            seen = True
            actual = actual_state(deployed, resource_type, stack, logical_id)
            expected = deployed.resolve(stack, props[path])
            assert mismatches(expected, _lookup(actual, path), path), (logical_id, path)
        assert seen, f"{resource_type}.{path} is in no template: remove it from DROPPED"
    # The check above must be able to fail: a property that does round-trip is no gap.
    stack, logical_id, props = next(deployed.resources("AWS::ECS::Service"))
    actual = actual_state(deployed, "AWS::ECS::Service", stack, logical_id)
    assert not mismatches(props["EnableECSManagedTags"], _lookup(actual, "EnableECSManagedTags"))


def test_skipped_types_are_really_absent(deployed: Deployed) -> None:
    """Each SKIPPED_TYPES entry is in the dev app and has no physical resource (if moto starts
    modelling one, the test tells us to delete its line)."""
    for resource_type in SKIPPED_TYPES:
        found = list(deployed.resources(resource_type))
        assert found, f"{resource_type} is in no template: remove it from SKIPPED_TYPES"
        for stack, logical_id, _ in found:
            assert logical_id not in deployed.physical[stack], (resource_type, logical_id)


def test_scheduled_scaling_actions_are_registered(deployed: Deployed) -> None:
    aas = deployed.client("application-autoscaling")
    actions = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
    got = {
        (a["ScheduledActionName"], a["Schedule"], a["ScalableTargetAction"]["MinCapacity"])
        for a in actions
    }
    expected = set()
    for _, _, props in deployed.resources("AWS::ApplicationAutoScaling::ScalableTarget"):
        for action in props.get("ScheduledActions", []):
            expected.add(
                (
                    action["ScheduledActionName"],
                    action["Schedule"],
                    action["ScalableTargetAction"]["MinCapacity"],
                )
            )
    assert expected
    assert got == expected


def test_fargate_service_is_not_reported_as_ec2(deployed: Deployed) -> None:
    """Stock moto turns every CloudFormation service into launch type EC2."""
    ecs = deployed.client("ecs")
    arns = ecs.list_services(cluster=_cluster(deployed))["serviceArns"]
    services = ecs.describe_services(cluster=_cluster(deployed), services=arns)["services"]
    assert len(services) == len(list(deployed.resources("AWS::ECS::Service")))
    for service in services:
        assert service.get("launchType") is None
        assert service["capacityProviderStrategy"]


def test_ecskit_run_starts_a_fargate_task(deployed: Deployed) -> None:
    """``ecskit run --service worker`` against the emulator. moto does not run containers:
    its task walks PROVISIONING..STOPPED on successive DescribeTasks and reports exit code 0
    for every container, so the exit code 0 here says "moto's canned value", not "the command
    succeeded". What is checked for real: the task was started with the service's task
    definition, network configuration and capacity provider."""
    from constructs_lib.runtime.cli import main

    ecs = deployed.client("ecs")
    cluster = _cluster(deployed)
    worker = next(
        s for s in ecs.list_services(cluster=cluster)["serviceArns"] if "workerService" in s
    )
    service = ecs.describe_services(cluster=cluster, services=[worker])["services"][0]
    out = io.StringIO()
    argv = [
        "run",
        "--cluster",
        cluster,
        "--service",
        worker.split("/")[-1],
        "--task-definition",
        service["taskDefinition"].split("/")[-1],
        "--no-logs",
        "--timeout",
        "60",
        "--region",
        deployed.result.region,
        "--endpoint-url",
        deployed.result.emulator.endpoint,
        "--json",
    ]
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(argv, stdout=out)
    result = json.loads(out.getvalue())["result"]
    assert code == 0 == result["container_exit_code"]  # moto's canned exit code, see above
    task = ecs.describe_tasks(cluster=cluster, tasks=[result["task_arn"]])["tasks"][0]
    assert task["taskDefinitionArn"] == service["taskDefinition"]
    assert (
        task["capacityProviderName"] == service["capacityProviderStrategy"][0]["capacityProvider"]
    )
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    assert details["subnetId"] in service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]


def test_a_second_deploy_is_refused_and_keeps_the_emulator(deployed: Deployed) -> None:
    """``make deploy`` twice: moto cannot update the deployed stacks (the CLI used to wait
    forever for a change set, then moto failed the update), so the second deploy is refused
    with one message before the CDK CLI runs, and the reused emulator keeps running."""
    emulator = deployed.result.emulator
    lines: list[str] = []
    with pytest.raises(
        LocalEmulatorError,
        match=r"^stack ecskit-dev-Network: already deployed in the running emulator .*"
        r"make destroy",
    ):
        deploy(
            "dev",
            port=free_port(),
            state_dir=emulator.state_dir,
            app=deployed.result.assembly,
            echo=lines.append,
            show_status=False,
        )
    assert lines == [
        f"emulator: reusing the one running on {emulator.endpoint} (pid {emulator.pid})"
    ]
    assert running(emulator.state_dir) == emulator


def test_a_cdk_command_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI command waiting for something moto never does fails after CLI_TIMEOUT."""
    monkeypatch.setattr(local_deploy, "CLI_TIMEOUT", 0.5)
    began = time.monotonic()
    with pytest.raises(LocalEmulatorError, match=r"^cdk deploy: no result after 0 s"):
        local_deploy._run(
            [sys.executable, "-c", "import time; time.sleep(30)"],
            dict(os.environ),
            "cdk deploy",
            None,
        )
    assert time.monotonic() - began < 10


def test_destroy_deletes_the_stacks_and_stops_the_emulator(deployed: Deployed) -> None:
    """Last test of the deployed module: it ends the shared emulator. cdk destroy runs against
    it (the Network stack may hit moto's known VPC dependency error: reported, not fatal), then
    the emulator is stopped."""
    lines: list[str] = []
    emulator = deployed.result.emulator
    assert destroy(
        "dev", state_dir=emulator.state_dir, app=deployed.result.assembly, echo=lines.append
    )
    assert lines[0].startswith("cdk destroy --all --force (ecskit-dev-Network,")
    errors = [line for line in lines[1:-1] if "failed" in line or "error" in line]
    assert all("VPC dependency error" in line for line in errors), errors
    assert lines[-1] == f"emulator: stopped (was {emulator.endpoint}, pid {emulator.pid})"
    assert running(emulator.state_dir) is None
    assert not _answers(emulator.port)


# --- bad input ----------------------------------------------------------------------------------


def _local(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "constructs_lib.local", "--state-dir", str(state), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_port_in_use_is_one_clear_error_and_nothing_runs(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _local("deploy", "--port", str(port), state=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ecskit local: port {port}: already in use on 127.0.0.1; stop what listens there or "
        "pick another port (make deploy PORT=<port>, or --port)"
    ]
    assert result.stdout.splitlines()[0].startswith("ecskit deploy: target local (moto server")
    assert running(tmp_path) is None
    assert not (tmp_path / "server.pid").exists()


def test_port_in_use_on_ipv6_localhost_is_refused(tmp_path: Path) -> None:
    """The endpoint is ``localhost``: a server on ``[::1]:port`` could answer the CDK CLI."""
    busy = socket.socket(socket.AF_INET6)
    try:
        busy.bind(("::1", 0))
    except OSError:
        busy.close()
        pytest.skip("no IPv6 loopback here")
    with busy:
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalEmulatorError, match=rf"port {port}: already in use on ::1"):
            start(port, state_dir=tmp_path)
    assert running(tmp_path) is None


def test_emulator_that_fails_to_start_is_reported_and_reaped(tmp_path: Path) -> None:
    crash = [sys.executable, "-c", "import sys; print('boom: no moto here'); sys.exit(3)"]
    with pytest.raises(LocalEmulatorError, match=r"server exited with code 3 .*boom: no moto here"):
        start(free_port(), state_dir=tmp_path, command=crash)
    assert running(tmp_path) is None


def test_emulator_that_never_answers_is_stopped(tmp_path: Path) -> None:
    hang = [sys.executable, "-c", "import time; time.sleep(60)"]
    began = time.monotonic()
    with pytest.raises(
        LocalEmulatorError, match=r"no answer on port \d+ after 1 s; server stopped"
    ):
        start(free_port(), state_dir=tmp_path, command=hang, timeout=1)
    assert time.monotonic() - began < 15
    assert running(tmp_path) is None


def test_failed_deploy_stops_the_emulator_it_started(tmp_path: Path) -> None:
    """A deploy that fails (here: an app directory that is no cloud assembly) ends with one
    message, exit 1, and the emulator it started is stopped."""
    result = _local("deploy", "--port", "0", "--app", str(tmp_path / "nothing"), state=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ecskit local: app: got {tmp_path / 'nothing'}; not a cloud assembly (no manifest.json): "
        "run cdk synth"
    ]
    assert "emulator: stopped (the deploy failed)" in result.stdout
    assert running(tmp_path) is None


def test_prod_is_refused_locally(prod_synth: Path) -> None:
    with pytest.raises(LocalEmulatorError, match=r"pinned to account 222222222222; .*TARGET=aws"):
        read_assembly(prod_synth)


def test_the_emulator_modules_patch_nothing_on_import() -> None:
    """The patches are applied in the server process only: importing the emulator's modules
    (as tests/runtime/conftest.py does for the ENI default) loads no moto and changes nothing
    for in-process moto users."""
    code = (
        "import sys; import constructs_lib.local, constructs_lib.local.deploy, "
        "constructs_lib.local.__main__; from constructs_lib.local import patches; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'moto'], 'moto imported'; "
        "from moto.ec2.models.elastic_network_interfaces import NetworkInterface as N; "
        "patches.eni_private_dns_name_patch(); "
        "assert 'private_dns_name' not in vars(N), 'ENI default leaked'; "
        "assert not patches._state['applied']"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_other_moto_versions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "5.1.0")
    with pytest.raises(LocalEmulatorError, match=r"moto: got 5.1.0; .*exactly 5.2.5"):
        patches.check_moto_version()


def _wait_for(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True  # exited; its parent (init) has not reaped it yet
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("command", "signum", "code"),
    [("start", signal.SIGINT, 130), ("deploy", signal.SIGTERM, 130)],
)
def test_interrupt_while_starting_stops_the_server(
    tmp_path: Path, command: str, signum: int, code: int
) -> None:
    """Ctrl-C in ``start`` (or a CI timeout's SIGTERM in ``deploy``) while the server is still
    starting: the server (its own session, so it got no signal) is stopped, not orphaned."""
    argv = [sys.executable, "-m", "constructs_lib.local", "--state-dir", str(tmp_path)]
    process = subprocess.Popen(
        [*argv, command, "--port", str(free_port())],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, whatever the test worker ignores (resets one signal only)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        _wait_for(tmp_path / "server.pid")
        server = int((tmp_path / "server.pid").read_text())
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        stop(tmp_path)
    assert process.returncode == code
    assert stderr.strip().splitlines()[-1] == "ecskit local: interrupted"
    assert _gone(server)
    assert running(tmp_path) is None
    assert not (tmp_path / "server.pid").exists()


def test_a_stale_pid_of_another_process_is_never_signalled(tmp_path: Path) -> None:
    """The emulator died and the system gave its pid to an unrelated process: ``stop`` must
    not kill it (the recorded start time does not match) and forgets the stale files."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "server.pid").write_text(str(other.pid))
        (tmp_path / "server.port").write_text(str(free_port()))
        (tmp_path / "server.started").write_text("1")  # the dead emulator's start time
        assert running(tmp_path) is None
        assert stop(tmp_path) is None
        assert other.poll() is None, "stop signalled an unrelated process"
        assert not (tmp_path / "server.pid").exists()
    finally:
        other.kill()
        other.wait()


def test_start_stop_cli_round_trip(tmp_path: Path) -> None:
    port = free_port()
    started = _local("start", "--port", str(port), state=tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        emulator = running(tmp_path)
        assert emulator is not None
        assert emulator.port == port
        env = _local("env", state=tmp_path)
        assert f"export AWS_ENDPOINT_URL=http://localhost:{port}" in env.stdout.splitlines()
        again = _local("start", "--port", str(port), state=tmp_path)
        assert again.returncode == 1
        assert "already running" in again.stderr
    finally:
        stopped = _local("stop", state=tmp_path)
    assert stopped.returncode == 0
    assert running(tmp_path) is None
    assert not _answers(port)
