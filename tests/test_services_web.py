"""constructs_lib.WebService / WebLoadBalancer: ALB, HTTPS, rules, deployments, safe defaults."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Template

from constructs_lib import (
    BlueGreenDeployment,
    CanaryDeployment,
    CapacityShare,
    EcskitValidationError,
    LinearDeployment,
    RollingDeployment,
    WebLoadBalancer,
    WebService,
)
from tests.conftest import unit_app
from tests.helpers import cluster_stack, only, resources, synth_with_messages, web_container

CERT_ARN = "arn:aws:acm:eu-west-1:111111111111:certificate/abc"


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict[str, Template], dict[str, list[str]]]:
    app = unit_app()
    stack, cluster = cluster_stack(app, "Default")
    WebService(stack, "Web", cluster=cluster, container=web_container())

    stack, cluster = cluster_stack(app, "Internal")
    WebService(
        stack, "Web", cluster=cluster, container=web_container(), internet_facing=False,
        access_logs=False, deletion_protection=False,
    )  # fmt: skip

    stack, cluster = cluster_stack(app, "Https")
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789", zone_name="example.com"
    )
    WebService(
        stack,
        "Web",
        cluster=cluster,
        container=web_container(port=8080),
        domain_name="app.example.com",
        hosted_zone=zone,
        ingress_cidrs=["203.0.113.0/24", "2001:db8::/32"],
        ingress_prefix_lists=["pl-0123456789abcdef0"],
        health_check_path="/health",
        health_check_interval=Duration.seconds(20),
        health_check_timeout=Duration.seconds(4),
        healthy_threshold_count=3,
        unhealthy_threshold_count=4,
        health_check_codes="200",
        deregistration_delay=Duration.seconds(5),
        health_check_grace_period=Duration.seconds(120),
        enable_execute_command=True,
    )

    stack, cluster = cluster_stack(app, "GivenCert")
    WebService(
        stack,
        "Web",
        cluster=cluster,
        container=web_container(),
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERT_ARN),
        redirect_http=False,
        ssl_policy=elbv2.SslPolicy.TLS13_13,
        access_logs=False,
    )

    stack, cluster = cluster_stack(app, "Shared")
    shared = WebLoadBalancer(
        stack, "Alb", vpc=cluster.cluster.vpc, test_listener_port=9000, access_logs=False
    )
    hook = lambda_.Function(
        stack,
        "Hook",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}"),
    )
    WebService(
        stack,
        "A",
        cluster=cluster,
        container=web_container(),
        load_balancer=shared,
        priority=10,
        host_headers=["a.example.com"],
        capacity=[CapacityShare("general")],
        cpu_architecture="arm64",
        desired_count=3,
        deployment=RollingDeployment(alarm_names=("a-5xx",), rollback_on_alarm=False),
    )
    WebService(
        stack,
        "B",
        cluster=cluster,
        container=web_container(),
        load_balancer=shared,
        priority=20,
        path_patterns=["/b/*"],
        deployment=BlueGreenDeployment(
            bake_time=Duration.minutes(5),
            lifecycle_hooks=(
                ecs.DeploymentLifecycleLambdaTarget(
                    hook,
                    "PreShift",
                    lifecycle_stages=[ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
                ),
            ),
        ),
    )
    WebService(
        stack,
        "C",
        cluster=cluster,
        container=web_container(),
        load_balancer=shared,
        priority=30,
        path_patterns=["/c/*"],
        deployment=CanaryDeployment(step_percent=10.0, step_bake_time=Duration.minutes(3)),
    )
    scaled = WebService(
        stack,
        "D",
        cluster=cluster,
        container=web_container(),
        load_balancer=shared,
        priority=40,
        host_headers=["d.example.com"],
        path_patterns=["/d/*"],
        capacity=[CapacityShare("FARGATE", base=1), CapacityShare("FARGATE_SPOT", weight=3)],
        deployment=LinearDeployment(step_percent=25.0),
    )
    scaled.auto_scale_task_count(min_tasks=2, max_tasks=8).scale_on_cpu_utilization(
        "Cpu", target_utilization_percent=60
    )
    scaled.add_deployment_alarms(["d-latency"])

    # The same service moved between Fargate and EC2: one logical id, no replacement.
    stack, cluster = cluster_stack(app, "OnFargate")
    WebService(stack, "Web", cluster=cluster, container=web_container(), access_logs=False)
    stack, cluster = cluster_stack(app, "OnEc2")
    WebService(
        stack, "Web", cluster=cluster, container=web_container(), access_logs=False,
        capacity=[CapacityShare("intel")],
    )  # fmt: skip
    return synth_with_messages(app)


@pytest.fixture(scope="module")
def templates(synthesized: tuple[dict[str, Template], Any]) -> dict[str, Template]:
    return synthesized[0]


def service(template: Template, path: str = "/Web/") -> dict[str, Any]:
    _, props = only(template, "AWS::ECS::Service", path)
    return props


# --- defaults -----------------------------------------------------------------------------


def test_defaults_are_safe_rolling_deployments(templates: dict[str, Template]) -> None:
    props = service(templates["Default"])
    assert props["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
    }
    assert props["AvailabilityZoneRebalancing"] == "ENABLED"
    assert props["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert "LaunchType" not in props
    assert "DesiredCount" not in props  # a deploy never resets the running count
    assert "DeploymentController" not in props
    assert props["HealthCheckGracePeriodSeconds"] == 60
    assert props["PropagateTags"] == "SERVICE"
    assert props["EnableECSManagedTags"] is True
    assert "EnableExecuteCommand" not in props
    assert props["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_default_target_group_health_check_and_short_deregistration(
    templates: dict[str, Template],
) -> None:
    tg_id, props = only(templates["Default"], "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg_id.startswith("WebTargetGroupPublic")
    assert props["TargetType"] == "ip"
    assert props["Port"] == 80
    assert props["HealthCheckPath"] == "/"
    assert props["HealthCheckIntervalSeconds"] == 15
    assert props["HealthCheckTimeoutSeconds"] == 5
    assert props["HealthyThresholdCount"] == 2
    assert props["UnhealthyThresholdCount"] == 3
    assert props["Matcher"] == {"HttpCode": "200-399"}
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in props[
        "TargetGroupAttributes"
    ]


def test_default_load_balancer_is_public_protected_logged_and_404s(
    templates: dict[str, Template],
) -> None:
    t = templates["Default"]
    _, lb = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    _, listener = only(t, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Port"] == 80
    assert listener["DefaultActions"] == [
        {
            "FixedResponseConfig": {
                "ContentType": "text/plain",
                "MessageBody": "Not found",
                "StatusCode": "404",
            },
            "Type": "fixed-response",
        }
    ]
    _, rule = only(t, "AWS::ElasticLoadBalancingV2::ListenerRule")
    tg_id, _ = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert rule["Priority"] == 1
    assert rule["Conditions"] == [
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
    ]
    assert rule["Actions"] == [{"TargetGroupArn": {"Ref": tg_id}, "Type": "forward"}]


def test_access_log_bucket_is_encrypted_private_ssl_only_and_expires(
    templates: dict[str, Template],
) -> None:
    t = templates["Default"]
    bucket_id, bucket = only(t, "AWS::S3::Bucket")
    assert bucket["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["LifecycleConfiguration"] == {
        "Rules": [{"ExpirationInDays": 90, "Id": "expire-access-logs", "Status": "Enabled"}]
    }
    t.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})
    _, policy = only(t, "AWS::S3::BucketPolicy")
    assert policy["Bucket"] == {"Ref": bucket_id}
    deny, *writes = policy["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Principal"]) == ("Deny", "s3:*", {"AWS": "*"})
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Only log delivery may write (and read the ACL, as S3 log delivery checks it).
    assert {json.dumps(w["Action"]) for w in writes} <= {'"s3:PutObject"', '"s3:GetBucketAcl"'}


def test_listener_ports_only_open_to_configured_sources(templates: dict[str, Template]) -> None:
    _, sg = only(templates["Default"], "AWS::EC2::SecurityGroup", "/LoadBalancer/SecurityGroup")
    # 0.0.0.0/0 is the documented default for a public load balancer, on port 80 only.
    assert sg["SecurityGroupIngress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "listener 80 from 0.0.0.0/0",
            "FromPort": 80,
            "IpProtocol": "tcp",
            "ToPort": 80,
        }
    ]
    assert "SecurityGroupEgress" not in sg or all(
        e.get("CidrIp") != "0.0.0.0/0" for e in sg["SecurityGroupEgress"]
    )
    t = templates["Https"]
    sg_id, https_sg = only(t, "AWS::EC2::SecurityGroup", "/LoadBalancer/SecurityGroup")
    inline = list(https_sg["SecurityGroupIngress"])
    separate = [
        r["Properties"]
        for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    sources = {
        (r.get("CidrIp") or r.get("CidrIpv6") or r.get("SourcePrefixListId"), r["FromPort"])
        for r in inline + separate
    }
    assert sources == {
        (source, port)
        for source in ("203.0.113.0/24", "2001:db8::/32", "pl-0123456789abcdef0")
        for port in (80, 443)
    }
    assert all(r["FromPort"] == r["ToPort"] for r in inline + separate)


def test_tasks_only_reachable_from_the_load_balancer_on_the_container_port(
    templates: dict[str, Template],
) -> None:
    t = templates["Https"]
    lb_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/LoadBalancer/SecurityGroup")
    task_sg, task = only(t, "AWS::EC2::SecurityGroup", "/Web/Service/SecurityGroup")
    assert "SecurityGroupIngress" not in task
    ingress = [
        r["Properties"]
        for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [task_sg, "GroupId"]}
    ]
    assert ingress == [
        {
            "Description": "Load balancer to target",
            "FromPort": 8080,
            "GroupId": {"Fn::GetAtt": [task_sg, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [lb_sg, "GroupId"]},
            "ToPort": 8080,
        }
    ]
    egress = [r["Properties"] for r in t.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    assert [(e["FromPort"], e["DestinationSecurityGroupId"]) for e in egress] == [
        (8080, {"Fn::GetAtt": [task_sg, "GroupId"]})
    ]


def test_internal_load_balancer_defaults_to_the_vpc_and_its_own_target_group_id(
    templates: dict[str, Template],
) -> None:
    t = templates["Internal"]
    _, lb = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb["Scheme"] == "internal"
    vpc, _ = only(t, "AWS::EC2::VPC")
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/LoadBalancer/SecurityGroup")
    assert [r["CidrIp"] for r in sg["SecurityGroupIngress"]] == [{"Fn::GetAtt": [vpc, "CidrBlock"]}]
    tg_id, _ = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    public_tg, _ = only(templates["Default"], "AWS::ElasticLoadBalancingV2::TargetGroup")
    # A public/internal switch replaces the target group with the load balancer (aws-cdk 33253)...
    assert tg_id.startswith("WebTargetGroupInternal")
    assert tg_id != public_tg
    # ...while the load balancer and the service keep their logical ids.
    lb_internal, _ = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    lb_public, _ = only(templates["Default"], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb_internal == lb_public
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "false"
    assert "access_logs.s3.enabled" not in attributes
    t.resource_count_is("AWS::S3::Bucket", 0)


# --- HTTPS ---------------------------------------------------------------------------------


def test_https_with_dns_validated_certificate_redirect_and_alias(
    templates: dict[str, Template],
) -> None:
    t = templates["Https"]
    cert_id, cert = only(t, "AWS::CertificateManager::Certificate")
    assert cert["DomainName"] == "app.example.com"
    assert cert["ValidationMethod"] == "DNS"
    assert cert["DomainValidationOptions"] == [
        {"DomainName": "app.example.com", "HostedZoneId": "Z0123456789"}
    ]
    listeners = {
        p["Port"]: p
        for p in (
            r["Properties"]
            for r in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
        )
    }
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert https["Certificates"] == [{"CertificateArn": {"Ref": cert_id}}]
    assert listeners[80]["DefaultActions"] == [
        {
            "RedirectConfig": {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"},
            "Type": "redirect",
        }
    ]
    lb_id, _ = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    _, record = only(t, "AWS::Route53::RecordSet")
    assert record["Name"] == "app.example.com."
    assert record["Type"] == "A"
    assert record["HostedZoneId"] == "Z0123456789"
    assert record["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": [lb_id, "CanonicalHostedZoneID"]}
    # The service's rule sits on the HTTPS listener.
    _, rule = only(t, "AWS::ElasticLoadBalancingV2::ListenerRule")
    https_id = next(
        k
        for k, v in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").items()
        if v["Properties"]["Port"] == 443
    )
    assert rule["ListenerArn"] == {"Ref": https_id}


def test_target_group_health_check_props(templates: dict[str, Template]) -> None:
    _, props = only(templates["Https"], "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert {k: props[k] for k in props if k.startswith(("Health", "Healthy", "Unhealthy"))} == {
        "HealthCheckIntervalSeconds": 20,
        "HealthCheckPath": "/health",
        "HealthCheckTimeoutSeconds": 4,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 4,
    }
    assert props["Matcher"] == {"HttpCode": "200"}
    assert props["Port"] == 8080
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "5"} in props[
        "TargetGroupAttributes"
    ]
    svc = service(templates["Https"])
    assert svc["HealthCheckGracePeriodSeconds"] == 120
    assert svc["EnableExecuteCommand"] is True  # ECS Exec opt-in: the task role gets SSM messages
    _, policy = only(
        templates["Https"], "AWS::IAM::Policy", "/Web/TaskDefinition/Resource/TaskRole"
    )
    assert {
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    } <= set(policy["PolicyDocument"]["Statement"][0]["Action"])


def test_given_certificate_and_policy_without_redirect(templates: dict[str, Template]) -> None:
    t = templates["GivenCert"]
    _, listener = only(t, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Port"] == 443
    assert listener["Certificates"] == [{"CertificateArn": CERT_ARN}]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    t.resource_count_is("AWS::CertificateManager::Certificate", 0)
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/LoadBalancer/SecurityGroup")
    assert [r["FromPort"] for r in sg["SecurityGroupIngress"]] == [443]  # no port 80 at all


# --- shared load balancer, rules and deployments ----------------------------------------


def rules(t: Template) -> dict[str, dict[str, Any]]:
    """Listener rules by the owning construct (A, B, ...) and rule kind."""
    found = {}
    for resource in t.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").values():
        path = resource["Metadata"]["aws:cdk:path"].split("/")
        found[f"{path[1]}/{path[2]}"] = resource["Properties"]
    return found


def test_shared_load_balancer_rules_priorities_and_conditions(
    templates: dict[str, Template],
) -> None:
    t = templates["Shared"]
    t.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    found = rules(t)
    assert {k: v["Priority"] for k, v in found.items()} == {
        "A/ListenerRule": 10,
        "B/ListenerRule": 20,
        "B/TestListenerRule": 20,
        "C/ListenerRule": 30,
        "C/TestListenerRule": 30,
        "D/ListenerRule": 40,
        "D/TestListenerRule": 40,
    }
    assert found["A/ListenerRule"]["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example.com"]}}
    ]
    assert found["D/ListenerRule"]["Conditions"] == [
        {"Field": "host-header", "HostHeaderConfig": {"Values": ["d.example.com"]}},
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/d/*"]}},
    ]
    listeners = {
        k: v["Properties"]["Port"]
        for k, v in t.find_resources("AWS::ElasticLoadBalancingV2::Listener").items()
    }
    prod = next(k for k, p in listeners.items() if p == 80)
    test = next(k for k, p in listeners.items() if p == 9000)
    assert found["B/ListenerRule"]["ListenerArn"] == {"Ref": prod}
    assert found["B/TestListenerRule"]["ListenerArn"] == {"Ref": test}
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/Alb/SecurityGroup")
    vpc, _ = only(t, "AWS::EC2::VPC")
    assert {(r["FromPort"], json.dumps(r["CidrIp"])) for r in sg["SecurityGroupIngress"]} == {
        (80, '"0.0.0.0/0"'),
        (9000, json.dumps({"Fn::GetAtt": [vpc, "CidrBlock"]})),  # test listener: VPC only
    }


def test_rolling_on_ec2_capacity_with_desired_count_and_alarms(
    templates: dict[str, Template],
) -> None:
    t = templates["Shared"]
    props = service(t, "/A/")
    general, _ = only(t, "AWS::ECS::CapacityProvider", "/general/")
    assert props["CapacityProviderStrategy"] == [
        {"CapacityProvider": {"Ref": general}, "Weight": 1}
    ]
    assert props["DesiredCount"] == 3
    assert props["PlacementStrategies"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
        {"Field": "MEMORY", "Type": "binpack"},
    ]
    assert props["DeploymentConfiguration"]["Alarms"] == {
        "AlarmNames": ["a-5xx"],
        "Enable": True,
        "Rollback": False,
    }
    assert props["AvailabilityZoneRebalancing"] == "ENABLED"
    _, task = only(t, "AWS::ECS::TaskDefinition", "/A/")
    assert task["RequiresCompatibilities"] == ["EC2"]
    assert task["NetworkMode"] == "awsvpc"


def test_service_waits_for_the_capacity_provider_association(
    templates: dict[str, Template],
) -> None:
    t = templates["Shared"]
    association, _ = only(t, "AWS::ECS::ClusterCapacityProviderAssociations")
    cluster, _ = only(t, "AWS::ECS::Cluster")
    for logical_id, resource in resources(t, "AWS::ECS::Service").items():
        assert {association, cluster} <= set(resource["DependsOn"]), logical_id


def test_blue_green_alternate_target_group_rules_and_infrastructure_role(
    templates: dict[str, Template],
) -> None:
    t = templates["Shared"]
    props = service(t, "/B/")
    config = dict(props["DeploymentConfiguration"])
    hooks = config.pop("LifecycleHooks")
    assert config == {
        "BakeTimeInMinutes": 5,
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 200,
        "MinimumHealthyPercent": 100,
        "Strategy": "BLUE_GREEN",
    }
    hook, _ = only(t, "AWS::Lambda::Function", "/Hook/")
    assert len(hooks) == 1
    assert hooks[0]["HookTargetArn"] == {"Fn::GetAtt": [hook, "Arn"]}
    assert hooks[0]["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    assert "AvailabilityZoneRebalancing" not in props
    blue, _ = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup", "/B/TargetGroup")
    green, _ = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup", "/B/AlternateTargetGroup")
    prod_rule = next(
        k for k, v in t.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").items()
        if v["Metadata"]["aws:cdk:path"].endswith("/B/ListenerRule/Resource")
    )  # fmt: skip
    test_rule = next(
        k for k, v in t.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").items()
        if v["Metadata"]["aws:cdk:path"].endswith("/B/TestListenerRule/Resource")
    )  # fmt: skip
    role, role_props = only(t, "AWS::IAM::Role", "/B/InfrastructureRole")
    assert props["LoadBalancers"] == [
        {
            "AdvancedConfiguration": {
                "AlternateTargetGroupArn": {"Ref": green},
                "ProductionListenerRule": {"Ref": prod_rule},
                "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
                "TestListenerRule": {"Ref": test_rule},
            },
            "ContainerName": "app",
            "ContainerPort": 80,
            "TargetGroupArn": {"Ref": blue},
        }
    ]
    assert role_props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs.amazonaws.com"
    }
    assert "AmazonECSInfrastructureRolePolicyForLoadBalancers" in json.dumps(
        role_props["ManagedPolicyArns"]
    )
    found = rules(t)
    assert found["B/ListenerRule"]["Actions"] == [
        {
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": {"Ref": blue}, "Weight": 100},
                    {"TargetGroupArn": {"Ref": green}, "Weight": 0},
                ]
            },
            "Type": "forward",
        }
    ]
    assert found["B/TestListenerRule"]["Actions"][0]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": {"Ref": green}, "Weight": 100},
        {"TargetGroupArn": {"Ref": blue}, "Weight": 0},
    ]


def test_canary_and_linear_traffic_shifting(templates: dict[str, Template]) -> None:
    t = templates["Shared"]
    canary = service(t, "/C/")["DeploymentConfiguration"]
    assert canary["Strategy"] == "CANARY"
    assert canary["CanaryConfiguration"] == {"CanaryBakeTimeInMinutes": 3, "CanaryPercent": 10}
    assert canary["BakeTimeInMinutes"] == 15
    linear = service(t, "/D/")["DeploymentConfiguration"]
    assert linear["Strategy"] == "LINEAR"
    assert linear["LinearConfiguration"] == {"StepBakeTimeInMinutes": 6, "StepPercent": 25}
    assert linear["Alarms"] == {"AlarmNames": ["d-latency"], "Enable": True, "Rollback": True}


def test_autoscaling_owns_the_count_and_fargate_spot_mix(templates: dict[str, Template]) -> None:
    t = templates["Shared"]
    props = service(t, "/D/")
    assert "DesiredCount" not in props
    assert props["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    _, target = only(t, "AWS::ApplicationAutoScaling::ScalableTarget", "/D/")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    _, policy = only(t, "AWS::ApplicationAutoScaling::ScalingPolicy", "/D/")
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 60


def test_moving_between_fargate_and_ec2_keeps_the_service(templates: dict[str, Template]) -> None:
    fargate_id, fargate = only(templates["OnFargate"], "AWS::ECS::Service")
    ec2_id, ec2 = only(templates["OnEc2"], "AWS::ECS::Service")
    assert fargate_id == ec2_id  # updated in place, not replaced (aws-cdk 29826)
    for props in (fargate, ec2):
        assert "LaunchType" not in props
        assert "CapacityProviderStrategy" in props


def test_no_synth_warnings(synthesized: tuple[Any, dict[str, list[str]]]) -> None:
    assert {name: found for name, found in synthesized[1].items() if found} == {}


# --- validation: one error per rule -------------------------------------------------------


def new_service(app_name: str = "S", **props: Any) -> WebService:
    stack, cluster = cluster_stack(unit_app(), app_name)
    kwargs: dict[str, Any] = {"container": web_container(), "access_logs": False, **props}
    return WebService(stack, "Web", cluster=cluster, **kwargs)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"protocol": "HTTPS"}, r"WebLoadBalancer\.certificate must be an ACM certificate for HTTPS, or give domain_name \+ hosted_zone"),
        ({"domain_name": "app.example.com"}, r"WebLoadBalancer\.certificate must be an ACM certificate for HTTPS"),
        ({"redirect_http": True}, r"WebLoadBalancer\.redirect_http must be False without HTTPS .*add a certificate, or domain_name \+ hosted_zone, got True"),
        ({"ssl_policy": elbv2.SslPolicy.TLS11, "certificate": None, "protocol": "HTTP"}, r"WebLoadBalancer\.ssl_policy must be a TLS 1\.2\+ policy .*got 'SslPolicy\.TLS11'"),
        ({"ingress_cidrs": ["10.0.0.0/33"]}, r"WebLoadBalancer\.ingress_cidrs\[0\] must be an IPv4/IPv6 CIDR .*got '10\.0\.0\.0/33'"),
        ({"ingress_cidrs": []}, r"WebLoadBalancer\.ingress_cidrs must be at least one CIDR or prefix list, got \[\]"),
        ({"ingress_prefix_lists": ["10.0.0.0/8"]}, r"ingress_prefix_lists\[0\] must be a prefix list id 'pl-\.\.\.', got '10\.0\.0\.0/8'"),
        ({"test_listener_port": 80}, r"WebLoadBalancer listener ports must be distinct listener ports"),
        ({"test_listener_port": 0}, r"WebLoadBalancer\.test_listener_port must be between 1 and 65535, got 0"),
        ({"container": web_container(port=None)}, r"WebService\.container\.port must be a TCP container port .*got None"),
        ({"container": web_container(port=53, protocol="udp")}, r"WebService\.container\.port must be a TCP container port"),
        ({"health_check_timeout": Duration.seconds(20)}, r"WebService\.health_check_timeout \(seconds\) must be less than the interval \(15 s\), got 20"),
        ({"health_check_interval": Duration.seconds(400)}, r"health_check_interval \(seconds\) must be between 5 and 300, got 400"),
        ({"healthy_threshold_count": 1}, r"WebService\.healthy_threshold_count must be between 2 and 10, got 1"),
        ({"health_check_codes": "ok"}, r"WebService\.health_check_codes must be HTTP codes like '200'"),
        ({"health_check_path": "health"}, r"WebService\.health_check_path must be a path starting with /"),
        ({"deregistration_delay": Duration.hours(2)}, r"WebService\.deregistration_delay \(seconds\) must be between 0 and 3600, got 7200"),
        ({"priority": 0}, r"WebService\.priority must be between 1 and 50000, got 0"),
        ({"host_headers": ["not a host"]}, r"WebService\.host_headers\[0\] must be a lower-case DNS name"),
        ({"path_patterns": ["api/*"]}, r"WebService\.path_patterns\[0\] must be a path pattern like '/api/\*', got 'api/\*'"),
        ({"host_headers": [f"h{i}.example.com" for i in range(4)]}, r"WebService\.host_headers must be at most 3 values \(an ALB rule condition takes 3 match evaluations\)"),
        ({"host_headers": ["a.example.com", "b.example.com", "c.example.com"], "path_patterns": ["/a", "/b", "/c"]}, r"WebService\.host_headers \+ path_patterns must be at most 5 values together"),
        ({"health_check_interval": Duration.millis(15_500)}, r"WebService\.health_check_interval must be a whole number of seconds, got 15\.5"),
        ({"deregistration_delay": Duration.millis(500)}, r"WebService\.deregistration_delay must be a whole number of seconds, got 0\.5"),
        ({"health_check_grace_period": Duration.millis(1500)}, r"WebService\.health_check_grace_period must be a whole number of seconds, got 1\.5"),
        ({"desired_count": -1}, r"WebService\.desired_count must be >= 0, got -1"),
        ({"capacity": [CapacityShare("gpu")]}, r"WebService\.capacity\[0\]\.provider must be one of \['FARGATE', 'FARGATE_SPOT', 'general', 'intel'\], got 'gpu'"),
        ({"capacity": [CapacityShare("FARGATE"), CapacityShare("general")]}, r"WebService\.capacity must be Fargate providers or EC2 capacities, not both"),
        ({"capacity": [CapacityShare("intel")], "cpu_architecture": "arm64"}, r"WebService\.cpu_architecture must be 'x86_64' to run on EC2 capacity 'intel' .*got 'arm64'"),
        ({"capacity": [CapacityShare("general")]}, r"WebService\.cpu_architecture must be 'arm64' to run on EC2 capacity 'general' \(its instance types are arm64 only\).*got 'x86_64'"),
        ({"capacity": [CapacityShare("intel")], "assign_public_ip": True}, r"WebService\.assign_public_ip must be False on EC2 capacity"),
        ({"capacity": [CapacityShare("intel")], "ephemeral_storage_gib": 30}, r"WebService\.ephemeral_storage_gib must be None on EC2 capacity"),
        ({"cpu": 512, "memory_mib": 512}, r"WebService\.memory_mib must be 1024, 2048, 3072, 4096 MiB with cpu 512 on Fargate \(pick a memory size from that list, or another cpu\), got 512"),
        ({"deployment": "blue-green"}, r"WebService\.deployment must be a RollingDeployment, BlueGreenDeployment, CanaryDeployment or LinearDeployment"),
    ],
)  # fmt: skip
def test_bad_web_service_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        new_service(**props)


def test_access_logs_need_a_region() -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_ec2 as ec2

    stack = Stack(unit_app(), "NoRegion")
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=["eu-west-1a", "eu-west-1b"])
    with pytest.raises(
        EcskitValidationError,
        match=r"WebLoadBalancer\.access_logs must be False in a stack without a region",
    ):
        WebLoadBalancer(stack, "Alb", vpc=vpc)


def test_access_logs_expiry_in_whole_days() -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    with pytest.raises(
        EcskitValidationError,
        match=r"WebLoadBalancer\.access_logs_expiry \(days\) must be a whole number of days, got 1\.5",
    ):
        WebLoadBalancer(
            stack, "Alb", vpc=cluster.cluster.vpc, access_logs_expiry=Duration.hours(36)
        )


def test_duplicate_listener_rule_priorities() -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    shared = WebLoadBalancer(stack, "Alb", vpc=cluster.cluster.vpc, access_logs=False)
    WebService(
        stack, "A", cluster=cluster, container=web_container(), load_balancer=shared, priority=10
    )
    with pytest.raises(
        EcskitValidationError,
        match=r"WebService\.priority must be unique on load balancer 'S/Alb' \(already used by 'S/A'\); pick another priority, got 10",
    ):
        WebService(
            stack,
            "B",
            cluster=cluster,
            container=web_container(),
            load_balancer=shared,
            priority=10,
        )


def test_shared_load_balancer_needs_a_priority_and_refuses_own_props() -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    shared = WebLoadBalancer(stack, "Alb", vpc=cluster.cluster.vpc, access_logs=False)
    with pytest.raises(
        EcskitValidationError,
        match=r"WebService\.priority must be a listener rule priority \(1-50000\) when sharing a load balancer, got None",
    ):
        WebService(stack, "A", cluster=cluster, container=web_container(), load_balancer=shared)
    with pytest.raises(
        EcskitValidationError,
        match=r"WebService\.internet_facing must be unset with a shared load_balancer \(configure the WebLoadBalancer instead\), got False",
    ):
        WebService(
            stack,
            "B",
            cluster=cluster,
            container=web_container(),
            load_balancer=shared,
            priority=1,
            internet_facing=False,
        )


def test_domain_without_zone_or_certificate() -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    with pytest.raises(
        EcskitValidationError, match=r"WebLoadBalancer\.domain_name must be a lower-case DNS name"
    ):
        WebLoadBalancer(
            stack,
            "Alb",
            vpc=cluster.cluster.vpc,
            domain_name="App.Example.com",
            certificate=acm.Certificate.from_certificate_arn(stack, "C", CERT_ARN),
        )


def test_autoscaling_refuses_a_rendered_desired_count() -> None:
    svc = new_service(desired_count=2)
    with pytest.raises(
        EcskitValidationError,
        match=r"WebService\.desired_count must be None when autoscaling owns the task count .*got 2",
    ):
        svc.auto_scale_task_count(min_tasks=1, max_tasks=4)
    other = new_service("T")
    with pytest.raises(
        EcskitValidationError, match=r"auto_scale_task_count max_tasks must be >= 3, got 2"
    ):
        other.auto_scale_task_count(min_tasks=3, max_tasks=2)


def test_readme_example_from_another_teams_stack() -> None:
    """The README's ten-line example, run as written against a cluster in another stack."""
    import re

    from aws_cdk import Environment

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### `WebService` from another team's stack, in ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None
    assert len(code.group(1).strip().splitlines()) <= 10
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    app = unit_app()
    _, cluster = cluster_stack(app, "Platform", ec2_capacity=False)
    team = namespace["TeamStack"](app, "Team", cluster=cluster, env=Environment(region="eu-west-1"))
    templates, messages = synth_with_messages(app)
    assert messages["Team"] == []
    templates["Team"].resource_count_is("AWS::ECS::Service", 1)
    assert team.web.target_group is not None
