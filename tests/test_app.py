"""The app: real `cdk synth` offline, stacks per environment, tags, outputs, bad config, README."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

import constructs_lib
from tests.conftest import ROOT, assert_tagged, cdk_cli


@pytest.mark.cli
def test_cdk_cli_synth_is_offline_and_clean(dev_cli_synth: tuple[Any, Path]) -> None:
    result, outdir = dev_cli_synth
    output = (result.stdout + result.stderr).lower()
    assert "feature flag" not in output  # all recommended flags are configured in cdk.json
    assert "end-of-life" not in output  # Node 22 from node_modules, not the system Node 20
    assert "warning" not in output
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert "missing" not in manifest  # no context lookup (AZs are explicit): no AWS call needed
    stacks = {
        k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"
    }
    assert stacks == {"ecskit-dev-Network", "ecskit-dev-Platform", "ecskit-dev-Services"}
    platform = manifest["artifacts"]["ecskit-dev-Platform"]
    assert platform["environment"] == "aws://unknown-account/eu-west-1"
    assert "ecskit-dev-Network" in platform["dependencies"]
    services = manifest["artifacts"]["ecskit-dev-Services"]
    assert {"ecskit-dev-Network", "ecskit-dev-Platform"} <= set(services["dependencies"])
    assert (
        not (ROOT / "cdk.context.json").exists()
        or "availability-zones" not in (ROOT / "cdk.context.json").read_text()
    )


def test_dev_network(dev_templates: dict[str, Template]) -> None:
    t = dev_templates["ecskit-dev-Network"]
    t.has_resource_properties(
        "AWS::EC2::VPC",
        {
            "CidrBlock": "10.10.0.0/16",
            "Tags": Match.array_with([{"Key": "environment", "Value": "dev"}]),
        },
    )
    t.resource_count_is("AWS::EC2::NatGateway", 0)
    t.resource_count_is("AWS::EC2::Subnet", 4)
    t.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 14})
    assert "VpcId" in t.to_json()["Outputs"]


def test_dev_platform(dev_templates: dict[str, Template]) -> None:
    t = dev_templates["ecskit-dev-Platform"]
    t.has_resource(
        "AWS::ECR::Repository",
        {
            "Properties": Match.object_like(
                {"RepositoryName": "ecskit-dev/app", "EmptyOnDelete": True}
            ),
            "DeletionPolicy": "Delete",
        },
    )
    t.has_resource_properties(
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "MixedInstancesPolicy": Match.object_like(
                {
                    "InstancesDistribution": Match.object_like(
                        {"OnDemandPercentageAboveBaseCapacity": 0}
                    )
                }
            )
        },
    )
    t.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {
            "LaunchTemplateData": Match.object_like(
                {"NetworkInterfaces": [Match.object_like({"AssociatePublicIpAddress": True})]}
            )
        },
    )
    outputs = t.to_json()["Outputs"]
    assert {"ClusterName", "RepositoryUri"} <= set(outputs)


def test_every_taggable_dev_resource_is_tagged(dev_templates: dict[str, Template]) -> None:
    assert_tagged(dev_templates, "dev")


def dev_services(dev_templates: dict[str, Template]) -> dict[str, dict[str, Any]]:
    """The dev Services stack's ECS services' properties by configured name."""
    found = dev_templates["ecskit-dev-Services"].find_resources("AWS::ECS::Service")
    return {v["Metadata"]["aws:cdk:path"].split("/")[1]: v["Properties"] for v in found.values()}


def test_dev_services_placement_without_nat(dev_templates: dict[str, Template]) -> None:
    services = dev_services(dev_templates)
    assert set(services) == {"web", "api", "tcp", "worker"}
    public_subnet_outputs = {"PublicSubnet1", "PublicSubnet2"}
    for name, props in services.items():
        network = props["NetworkConfiguration"]["AwsvpcConfiguration"]
        subnets = json.dumps(network["Subnets"])
        if name == "api":  # EC2 capacity: the instance's agent pulls the image
            assert network["AssignPublicIp"] == "DISABLED"
            assert "PrivateSubnet" in subnets
        else:  # Fargate in a VPC without NAT or ECR/logs endpoints: public IP, public subnets
            assert network["AssignPublicIp"] == "ENABLED", name
            assert all(s in subnets for s in public_subnet_outputs), name
        assert "DesiredCount" not in props  # nothing resets a running count on deploy
        assert props["DeploymentConfiguration"]["MinimumHealthyPercent"] == 100
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
            "Enable": True,
            "Rollback": True,
        }
        assert "LaunchType" not in props
    assert services["worker"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]
    api_provider = services["api"]["CapacityProviderStrategy"][0]["CapacityProvider"]
    assert api_provider["Fn::GetStackOutput"]["StackName"] == "ecskit-dev-Platform"


def test_dev_shared_http_load_balancer(dev_templates: dict[str, Template]) -> None:
    t = dev_templates["ecskit-dev-Services"]
    t.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 2)  # the ALB and tcp's NLB
    t.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Type": "application",
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [{"Key": "deletion_protection.enabled", "Value": "false"}]
            ),
        },
    )
    listeners = [
        r["Properties"] for r in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    assert sorted((p["Port"], p["Protocol"]) for p in listeners) == [(80, "HTTP"), (80, "TCP")]
    rules = sorted(
        (
            r["Properties"]["Priority"],
            r["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"],
        )
        for r in t.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()
    )
    assert rules == [(10, ["/api/*"]), (100, ["/*"])]
    t.resource_count_is("AWS::S3::Bucket", 0)  # access logs off in dev
    t.has_resource_properties(
        "AWS::SQS::Queue", {"VisibilityTimeout": 120, "SqsManagedSseEnabled": True}
    )
    t.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": "cron(0 3 * * ? *)", "ScheduleExpressionTimezone": "Etc/UTC"},
    )
    outputs = t.to_json()["Outputs"]
    assert {
        "publicloadbalancerdns",
        "webservicename",
        "apiservicename",
        "tcpservicename",
        "tcploadbalancerdns",
        "workerservicename",
        "workerqueueurl",
        "nightlyschedulename",
    } <= set(outputs)


DEV_STACKS = ["ecskit-dev-Network", "ecskit-dev-Platform", "ecskit-dev-Services"]


@pytest.mark.parametrize("stack", DEV_STACKS)
def test_dev_stack_snapshot(
    dev_templates: dict[str, Template], template_snapshot: Any, stack: str
) -> None:
    """The whole template, logical ids included: a renamed construct id shows up here."""
    assert dev_templates[stack].to_json() == template_snapshot


def run_app(tmp_path: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)},
    )


def test_bad_config_stops_synth_with_one_clear_line(tmp_path: Path) -> None:
    ecskit = json.loads((ROOT / "cdk.json").read_text())["context"]["ecskit"]
    ecskit["environments"]["dev"]["network"]["max_azs"] = 0
    result = run_app(tmp_path, {"ecskit": ecskit})
    assert result.returncode == 1
    assert (
        "ecskit.environments.dev.network.max_azs: got 0; Input should be greater than or equal to 2"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert "jsii" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written that could look like a valid assembly


@pytest.mark.cli
def test_cdk_cli_rejects_unknown_environment(tmp_path: Path) -> None:
    result = cdk_cli("synth", "--quiet", "-c", "env=staging", "--output", str(tmp_path / "out"))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "env: 'staging' is not a configured environment; use one of ['dev', 'prod']" in output
    assert "Traceback" not in output
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_readme_commands_have_make_targets() -> None:
    readme = (ROOT / "README.md").read_text()
    top = readme.split("## Two commands", 1)[1].split("```")[1]
    # The two set-up commands: the main job and the tests.
    assert re.findall(r"^make ([a-z-]+)", top, flags=re.MULTILINE) == ["deploy", "test"]
    targets = set(re.findall(r"(?:^\s*|`)make ([a-z-]+)", readme, flags=re.MULTILINE))
    assert {"deploy", "test", "synth", "report", "destroy", "diff"} <= targets
    for target in sorted(targets):
        dry_run = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert dry_run.returncode == 0, (target, dry_run.stderr)


def test_public_exports_are_the_intended_ones() -> None:
    assert sorted(constructs_lib.__all__) == [
        "BlueGreenDeployment",
        "CanaryDeployment",
        "CapacityShare",
        "ClassicLoadBalancedService",
        "ComputeCluster",
        "ContainerSpec",
        "ContainerTaskDefinition",
        "DaemonService",
        "Ec2Capacity",
        "EcsEventNotifications",
        "EcskitValidationError",
        "HealthCheck",
        "ImageRef",
        "ImageRepository",
        "InterfaceEndpoint",
        "LinearDeployment",
        "MachineImageKind",
        "MonitoringDashboard",
        "Network",
        "NetworkService",
        "NotificationTopic",
        "PortSpec",
        "RollingDeployment",
        "ScheduledCapacity",
        "ScheduledJob",
        "SecretRef",
        "ServiceAlarms",
        "TaskScaling",
        "Threshold",
        "WebLoadBalancer",
        "WebService",
        "WorkerService",
        "__version__",
    ]
    assert sorted(constructs_lib._EXPORTS) == sorted(set(constructs_lib.__all__) - {"__version__"})
    for name in constructs_lib.__all__:
        assert getattr(constructs_lib, name) is not None
