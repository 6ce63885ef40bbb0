"""constructs_lib.NetworkService: NLB with TCP, TLS and UDP, health checks, client IP."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Template

from constructs_lib import (
    BlueGreenDeployment,
    CanaryDeployment,
    CapacityShare,
    EcskitValidationError,
    NetworkService,
    RollingDeployment,
)
from tests.conftest import unit_app
from tests.helpers import cluster_stack, only, synth_with_messages, web_container


@pytest.fixture(scope="module")
def synthesized() -> tuple[dict[str, Template], dict[str, list[str]]]:
    app = unit_app()
    stack, cluster = cluster_stack(app, "Tcp")
    NetworkService(stack, "Svc", cluster=cluster, container=web_container())

    stack, cluster = cluster_stack(app, "Tls")
    zone = route53.HostedZone.from_hosted_zone_attributes(
        stack, "Zone", hosted_zone_id="Z0123456789", zone_name="example.com"
    )
    NetworkService(
        stack,
        "Svc",
        cluster=cluster,
        container=web_container(port=8443),
        protocol="TLS",
        listener_port=443,
        internet_facing=True,
        ingress_cidrs=["198.51.100.0/24"],
        domain_name="tls.example.com",
        hosted_zone=zone,
        preserve_client_ip=True,
        health_check_protocol="HTTP",
        health_check_path="/ready",
        health_check_interval=Duration.seconds(30),
        healthy_threshold_count=2,
        unhealthy_threshold_count=5,
        deregistration_delay=Duration.seconds(0),
        cross_zone=False,
        deletion_protection=False,
        capacity=[CapacityShare("general")],
        cpu_architecture="arm64",
    )

    stack, cluster = cluster_stack(app, "Udp")
    NetworkService(
        stack,
        "Svc",
        cluster=cluster,
        container=web_container(port=5353, protocol="udp"),
        protocol="UDP",
        health_check_port=8080,
    )
    return synth_with_messages(app)


@pytest.fixture(scope="module")
def templates(synthesized: tuple[dict[str, Template], Any]) -> dict[str, Template]:
    return synthesized[0]


def test_tcp_defaults_internal_from_the_vpc_only(templates: dict[str, Template]) -> None:
    t = templates["Tcp"]
    lb_id, lb = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb["Type"] == "network"
    assert lb["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes == {
        "deletion_protection.enabled": "true",
        "load_balancing.cross_zone.enabled": "true",
    }
    tg_id, tg = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg_id.startswith("SvcTargetGroupInternal")
    assert (tg["Protocol"], tg["Port"], tg["TargetType"]) == ("TCP", 80, "ip")
    assert tg["HealthCheckProtocol"] == "TCP"
    assert tg["HealthCheckIntervalSeconds"] == 10
    attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attrs["preserve_client_ip.enabled"] == "false"
    assert attrs["deregistration_delay.timeout_seconds"] == "30"
    _, listener = only(t, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener == {
        "DefaultActions": [{"TargetGroupArn": {"Ref": tg_id}, "Type": "forward"}],
        "LoadBalancerArn": {"Ref": lb_id},
        "Port": 80,
        "Protocol": "TCP",
    }
    vpc, _ = only(t, "AWS::EC2::VPC")
    lb_sg, sg = only(t, "AWS::EC2::SecurityGroup", "/Svc/LoadBalancerSecurityGroup")
    assert sg["SecurityGroupIngress"] == [
        {
            "CidrIp": {"Fn::GetAtt": [vpc, "CidrBlock"]},
            "Description": "listener 80 from configured CIDR",
            "FromPort": 80,
            "IpProtocol": "tcp",
            "ToPort": 80,
        }
    ]
    task_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/Svc/Service/SecurityGroup")
    t.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": {"Fn::GetAtt": [task_sg, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [lb_sg, "GroupId"]},
            "FromPort": 80,
            "ToPort": 80,
            "IpProtocol": "tcp",
        },
    )
    t.resource_count_is("AWS::EC2::SecurityGroupIngress", 1)
    _, svc = only(t, "AWS::ECS::Service")
    assert svc["LoadBalancers"] == [
        {"ContainerName": "app", "ContainerPort": 80, "TargetGroupArn": {"Ref": tg_id}}
    ]
    assert svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    assert "DesiredCount" not in svc


def test_tls_listener_certificate_policy_and_public_scheme(templates: dict[str, Template]) -> None:
    t = templates["Tls"]
    cert, cert_props = only(t, "AWS::CertificateManager::Certificate")
    assert cert_props["DomainName"] == "tls.example.com"
    assert cert_props["ValidationMethod"] == "DNS"
    _, listener = only(t, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "TLS"
    assert listener["Port"] == 443
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert listener["Certificates"] == [{"CertificateArn": {"Ref": cert}}]
    _, lb = only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert lb["Scheme"] == "internet-facing"
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "false"
    assert attributes["deletion_protection.enabled"] == "false"
    tg_id, tg = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg_id.startswith("SvcTargetGroupPublic")
    assert (tg["Protocol"], tg["Port"]) == ("TCP", 8443)  # TLS ends at the load balancer
    assert tg["HealthCheckProtocol"] == "HTTP"
    assert tg["HealthCheckPath"] == "/ready"
    assert tg["HealthCheckIntervalSeconds"] == 30
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 5)
    attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attrs["preserve_client_ip.enabled"] == "true"
    assert attrs["deregistration_delay.timeout_seconds"] == "0"
    _, sg = only(t, "AWS::EC2::SecurityGroup", "/Svc/LoadBalancerSecurityGroup")
    assert [(r["CidrIp"], r["FromPort"]) for r in sg["SecurityGroupIngress"]] == [
        ("198.51.100.0/24", 443)
    ]
    _, record = only(t, "AWS::Route53::RecordSet")
    assert record["Name"] == "tls.example.com."
    _, svc = only(t, "AWS::ECS::Service")
    general, _ = only(t, "AWS::ECS::CapacityProvider", "/general/")
    assert svc["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": general}, "Weight": 1}]


def test_udp_preserves_client_ip_and_health_checks_over_tcp(templates: dict[str, Template]) -> None:
    t = templates["Udp"]
    _, listener = only(t, "AWS::ElasticLoadBalancingV2::Listener")
    assert (listener["Protocol"], listener["Port"]) == ("UDP", 5353)
    _, tg = only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert tg["Protocol"] == "UDP"
    assert tg["HealthCheckProtocol"] == "TCP"
    assert tg["HealthCheckPort"] == "8080"
    attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attrs["preserve_client_ip.enabled"] == "true"
    task_sg, _ = only(t, "AWS::EC2::SecurityGroup", "/Svc/Service/SecurityGroup")
    ingress = sorted(
        (r["Properties"]["IpProtocol"], r["Properties"]["FromPort"])
        for r in t.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [task_sg, "GroupId"]}
    )
    assert ingress == [("tcp", 8080), ("udp", 5353)]
    _, task = only(t, "AWS::ECS::TaskDefinition")
    assert task["ContainerDefinitions"][0]["PortMappings"] == [
        {"ContainerPort": 5353, "Protocol": "udp"}
    ]


def test_no_synth_warnings(synthesized: tuple[Any, dict[str, list[str]]]) -> None:
    assert {name: found for name, found in synthesized[1].items() if found} == {}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"protocol": "TLS"}, r"NetworkService\.certificate must be an ACM certificate for TLS, or domain_name \+ hosted_zone"),
        ({"protocol": "QUIC"}, r"NetworkService\.protocol must be 'TCP', 'TLS' or 'UDP', got 'QUIC'"),
        ({"protocol": "UDP"}, r"NetworkService\.container\.port must be a UDP container port for a UDP listener, got '80/tcp'"),
        ({"protocol": "UDP", "container": web_container(port=53, protocol="udp")}, r"NetworkService\.health_check_port must be a TCP port the container listens on, for UDP .*got None"),
        ({"protocol": "UDP", "container": web_container(port=53, protocol="udp"), "health_check_port": 8080, "preserve_client_ip": False}, r"NetworkService\.preserve_client_ip must be True or unset for UDP"),
        ({"container": web_container(port=None)}, r"NetworkService\.container\.port must be a TCP container port for a TCP listener, got None"),
        ({"listener_port": 70000}, r"NetworkService\.listener_port must be between 1 and 65535, got 70000"),
        ({"health_check_path": "/x"}, r"NetworkService\.health_check_path must be None for a TCP health check"),
        ({"health_check_protocol": "UDP"}, r"NetworkService\.health_check_protocol must be 'TCP', 'HTTP' or 'HTTPS', got 'UDP'"),
        ({"health_check_timeout": Duration.seconds(10)}, r"NetworkService\.health_check_timeout \(seconds\) must be less than the interval \(10 s\), got 10"),
        ({"ssl_policy": elbv2.SslPolicy.TLS13_10}, r"NetworkService\.ssl_policy must be a TLS 1\.2\+ policy"),
        ({"ingress_cidrs": ["everyone"]}, r"NetworkService\.ingress_cidrs\[0\] must be an IPv4/IPv6 CIDR"),
        ({"deployment": BlueGreenDeployment()}, r"NetworkService\.deployment must be RollingDeployment for NetworkService \(blue/green, canary and linear shift traffic between target groups of an Application Load Balancer: use a WebService\), got 'BlueGreenDeployment'"),
        ({"deployment": CanaryDeployment()}, r"NetworkService\.deployment must be RollingDeployment .*got 'CanaryDeployment'"),
        ({"deployment": RollingDeployment(min_healthy_percent=150)}, r"NetworkService\.deployment\.min_healthy_percent must be between 0 and 100, got 150"),
        ({"desired_count": -2}, r"NetworkService\.desired_count must be >= 0, got -2"),
    ],
)  # fmt: skip
def test_bad_network_service_props(props: dict[str, Any], message: str) -> None:
    stack, cluster = cluster_stack(unit_app(), "S")
    kwargs: dict[str, Any] = {"container": web_container(), **props}
    with pytest.raises(EcskitValidationError, match=message):
        NetworkService(stack, "Svc", cluster=cluster, **kwargs)
