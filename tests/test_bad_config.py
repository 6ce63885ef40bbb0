"""Bad configuration never reaches CDK: one table of invalid values across every area.

Each row changes one key of the committed ``cdk.json`` configuration and asserts
(a) the exact key path of the one problem reported (``Problem.path``), (b) that its message
names the value and the fix, and (c) that synth (``stacks.app.main``, what ``app.py`` runs)
exits 1 with that line on stderr and no traceback. A few rows also go through the real
``cdk synth`` CLI, and one subprocess check shows the path never imports ``aws_cdk``/jsii.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from stacks.app import main
from stacks.config import ConfigError, Problem, load_config
from tests.conftest import ROOT, cdk_cli, with_value

AREAS = ("network", "registry", "cluster", "services", "scaling", "alarms", "environment")


class Bad(NamedTuple):
    """One invalid configuration: ``value`` set at ``at``; the one problem is at ``path``
    (default: ``at``) and its message matches ``message`` (a regex naming value and fix)."""

    area: str
    at: str
    value: Any
    message: str
    path: str | None = None

    @property
    def expected_path(self) -> str:
        return self.at if self.path is None else self.path


DEV = "environments.dev"
PROD = "environments.prod"
WEB = f"{DEV}.services.web"
API = f"{DEV}.services.api"
TCP = f"{DEV}.services.tcp"
WORKER = f"{DEV}.services.worker"
POOL = f"{DEV}.cluster.ec2_capacity.0"
STRATEGY = f"{DEV}.cluster.default_capacity_provider_strategy"
SCALING = f"{WEB}.autoscaling"
SCHEDULE = f"{SCALING}.schedules.0"
ALARMS = f"{WEB}.alarms"
LB = f"{DEV}.load_balancers.public"
ENDPOINTS_MSG = r"got 'ftp'; Input should be 's3', 'dynamodb'"

BAD_CONFIGS = [
    # network
    Bad("network", f"{DEV}.network.max_azs", 0, r"^got 0; Input should be greater than or equal to 2$"),
    Bad("network", f"{DEV}.network.max_azs", 4, r"^got 4; Input should be less than or equal to 3$"),
    Bad("network", f"{DEV}.network.max_azs", "2", r"^got '2'; Input should be a valid integer$"),
    Bad("network", f"{DEV}.network.nat_gateways", 3, r"^got 3; must be <= max_azs \(2\): at most one NAT gateway per AZ$"),
    Bad("network", f"{DEV}.network.cidr", "10.0.0.0/33", r"^must be an IPv4 CIDR block like '10\.0\.0\.0/16' \(.*\), got '10\.0\.0\.0/33'$"),
    Bad("network", f"{DEV}.network.cidr", "10.0.0.1/16", r"^must be an IPv4 CIDR block .*has host bits set\), got '10\.0\.0\.1/16'$"),
    Bad("network", f"{DEV}.network.cidr", "10.0.0.0/26", r"^must be a CIDR block with a prefix between /16 and /24, got '10\.0\.0\.0/26'$"),
    Bad("network", f"{DEV}.network.cidr", "10.0.0.0/19", r"^got '10\.0\.0\.0/19'; 10\.0\.0\.0/19 has 8192 addresses but 2 AZs x subnets .* need 8704; use a larger CIDR"),
    Bad("network", f"{DEV}.network.cidr", "10.0.0.0/22", r"^must be between 23 and 28 for a /22 VPC, got 20$", f"{DEV}.network.private_subnet_mask"),
    Bad("network", f"{DEV}.network.public_subnet_mask", 29, r"^got 29; Input should be less than or equal to 28$"),
    Bad("network", f"{DEV}.network.flow_log_retention_days", 31, r"^got 31; must be one of \[1, 3, 5, "),
    Bad("network", f"{DEV}.network.flow_logs", "true", r"^got 'true'; Input should be a valid boolean$"),
    Bad("network", f"{DEV}.network.endpoints", ["ecr.api", "ftp"], ENDPOINTS_MSG, f"{DEV}.network.endpoints.1"),
    Bad("network", f"{DEV}.network.endpoints", ["s3", "ssm", "s3"], r"^got 's3'; must not list an endpoint twice$", f"{DEV}.network.endpoints.2"),
    Bad("network", f"{DEV}.network.natgateways", 1, r"^unknown key; allowed keys here: \[.*'nat_gateways'"),
    Bad("network", f"{DEV}.network", "10.0.0.0/16", r"^got '10\.0\.0\.0/16'; Input should be a valid dictionary or instance of NetworkConfig$"),
    # environment
    Bad("environment", f"{DEV}.region", "Europe", r"^must be an AWS region name like 'eu-west-1', got 'Europe'$"),
    Bad("environment", f"{DEV}.account", "1234", r"^must be a 12-digit AWS account id, got '1234'$"),
    Bad("environment", f"{DEV}.availability_zones", ["eu-west-1a", "us-east-1b"], r"^got 'us-east-1b'; not an AZ of region eu-west-1 \(expected like 'eu-west-1a'\)$", f"{DEV}.availability_zones.1"),
    Bad("environment", f"{DEV}.availability_zones", ["eu-west-1a"], r"^got \['eu-west-1a'\]; List should have at least 2 items after validation, not 1$"),
    Bad("environment", f"{DEV}.availability_zones", ["eu-west-1a", "eu-west-1a"], r"^got 'eu-west-1a'; listed twice in \['eu-west-1a', 'eu-west-1a'\]$", f"{DEV}.availability_zones.1"),
    Bad("environment", f"{PROD}.availability_zones", ["eu-west-1a", "eu-west-1b"], r"^got 3; exceeds the 2 availability_zones listed; list more AZs or lower max_azs$", f"{PROD}.network.max_azs"),
    Bad("environment", "default_environment", "qa", r"^got 'qa'; must be one of the environments \['dev', 'prod'\]$"),
    Bad("environment", "owner", "", r"^got ''; String should have at least 1 character$"),
    Bad("environment", "environments.Dev", {"region": "eu-west-1", "availability_zones": ["eu-west-1a", "eu-west-1b"]}, r"^got 'Dev'; String should match pattern"),
    # registry
    Bad("registry", f"{DEV}.registry.max_image_count", 0, r"^got 0; Input should be greater than or equal to 1$"),
    Bad("registry", f"{DEV}.registry.untagged_expiry_days", 3651, r"^got 3651; Input should be less than or equal to 3650$"),
    Bad("registry", f"{DEV}.registry.removal_policy", "delete", r"^got 'delete'; Input should be 'retain' or 'destroy'$"),
    Bad("registry", f"{DEV}.registry.encryption", "kms", r"^got 'kms'; Input should be 'AES256' or 'KMS'$"),
    Bad("registry", f"{DEV}.registry.repository_name", "My_Repo", r"^got 'My_Repo'; must be lower-case letters, digits and \. _ - /"),
    Bad("registry", f"{DEV}.registry.pull_account_ids", ["123456789012", "12"], r"^must be a 12-digit AWS account id, got '12'$", f"{DEV}.registry.pull_account_ids.1"),
    Bad("registry", f"{DEV}.registry.scan_on_push", "yes", r"^got 'yes'; Input should be a valid boolean$"),
    Bad("registry", f"{DEV}.registry.lifecycle", {}, r"^unknown key; allowed keys here: \[.*'max_image_count'"),
    # cluster
    Bad("cluster", f"{DEV}.cluster.container_insights", "on", r"^got 'on'; Input should be 'enhanced', 'enabled' or 'disabled'$"),
    Bad("cluster", f"{DEV}.cluster.cluster_name", "my cluster", r"^got 'my cluster'; String should match pattern"),
    Bad("cluster", f"{POOL}.instance_types", ["t4g.small", "t3.mediumm"], r"^must be an EC2 instance type like 't3\.medium'.*, got 't3\.mediumm'$", f"{POOL}.instance_types.1"),
    Bad("cluster", f"{POOL}.instance_types", ["m7g.large", "m6i.large"], r"^got \['m7g\.large', 'm6i\.large'\]; mixes CPU architectures \(\{'m7g\.large': 'arm64', 'm6i\.large': 'x86_64'\}\); .*use only x86_64 types or only Graviton"),
    Bad("cluster", f"{POOL}.instance_types", [], r"^got \[\]; List should have at least 1 item after validation, not 0$"),
    Bad("cluster", f"{POOL}.min_capacity", 5, r"^got 5; must be <= max_capacity \(2\)$"),
    Bad("cluster", f"{POOL}.max_capacity", -1, r"^got -1; Input should be greater than or equal to 1$"),
    Bad("cluster", f"{POOL}.on_demand_percentage_above_base", 101, r"^got 101; Input should be less than or equal to 100$"),
    Bad("cluster", f"{POOL}.machine_image", "al2", r"^got 'al2'; Input should be 'al2023' or 'bottlerocket'$"),
    Bad("cluster", f"{POOL}.name", "Big Pool", r"^got 'Big Pool'; String should match pattern"),
    Bad("cluster", f"{DEV}.cluster.ec2_capacity", [{"name": "general", "instance_types": ["t4g.medium"], "max_capacity": 1}] * 2, r"^got 'general'; ec2_capacity names must be distinct: \['general', 'general'\]$", f"{DEV}.cluster.ec2_capacity.1.name"),
    Bad("cluster", f"{DEV}.cluster.ec2_capacity", [{"name": "general", "instance_types": ["t4g.medium"]}], r"^required key is missing$", f"{POOL}.max_capacity"),
    Bad("cluster", STRATEGY, [{"provider": "gpu"}], r"^got 'gpu'; the cluster has no such capacity provider; use one of \['FARGATE', 'FARGATE_SPOT', 'general'\]$", f"{STRATEGY}.0.provider"),
    Bad("cluster", STRATEGY, [{"provider": "FARGATE"}, {"provider": "general"}], r"^got 'general'; default_capacity_provider_strategy mixes Fargate and EC2 capacity providers; ECS accepts one kind per strategy$", f"{STRATEGY}.1.provider"),
    Bad("cluster", STRATEGY, [{"provider": "FARGATE", "base": 1}, {"provider": "FARGATE_SPOT", "base": 1}], r"^got 1; at most one entry of default_capacity_provider_strategy may set base$", f"{STRATEGY}.1.base"),
    Bad("cluster", STRATEGY, [{"provider": "FARGATE", "weight": 0}], r"^got 0; at least one weight must be above 0$", f"{STRATEGY}.0.weight"),
    # services and load balancers: the config rejects what the constructs reject
    Bad("services", f"{WEB}.memory_mib", 4096, r"^must be 512, 1024, 2048 MiB with cpu 256 on Fargate \(pick a memory size from that list, or another cpu\), got 4096$"),
    Bad("services", f"{WEB}.cpu", 300, r"^must be one of \[256, 512, 1024, 2048, 4096, 8192, 16384\] on Fargate, got 300$"),
    Bad("services", f"{WEB}.cpu", "256", r"^got '256'; Input should be a valid integer$"),
    Bad("services", f"{LB}.protocol", "HTTPS", r"^got 'HTTPS'; HTTPS needs certificate_arn, or domain_name \+ hosted_zone_id \+ hosted_zone_name"),
    Bad("services", f"{LB}.redirect_http", True, r"^got True; redirect_http needs HTTPS \(there is no HTTPS listener to redirect to\)"),
    Bad("services", f"{LB}.ingress_cidrs", ["0.0.0.0/33"], r"^must be an IPv4/IPv6 CIDR like '203\.0\.113\.0/24' or a prefix list id 'pl-\.\.\.', got '0\.0\.0\.0/33'$", f"{LB}.ingress_cidrs.0"),
    Bad("services", f"{LB}.test_listener_port", 80, r"^got 80; listener ports must be distinct, got \[80, 80\]$"),
    Bad("services", f"{LB}.ingress_cidrs", None, r"^got None; an internet-facing load balancer needs ingress_cidrs \(e\.g\. \[\"0\.0\.0\.0/0\"\] for everyone\) or ingress_prefix_lists: who may connect is never implicit$"),
    Bad("services", f"{TCP}.internet_facing", True, r"^got True; an internet-facing load balancer needs ingress_cidrs"),
    Bad("services", f"{DEV}.load_balancers.spare", {"internet_facing": False}, r"^got 'spare'; this load balancer is not used by any kind web service; remove it"),
    Bad("services", f"{WEB}.capacity", [{"provider": "gpu"}], r"^got 'gpu'; the cluster has no such capacity provider; use one of \['FARGATE', 'FARGATE_SPOT', 'general'\]$", f"{WEB}.capacity.0.provider"),
    Bad("services", f"{WEB}.capacity", [{"provider": "FARGATE"}, {"provider": "general"}], r"^got 'general'; mixes Fargate and EC2 capacity providers in one strategy", f"{WEB}.capacity.1.provider"),
    Bad("services", f"{WEB}.capacity", [{"provider": "FARGATE"}, {"provider": "FARGATE"}], r"^got 'FARGATE'; named twice in \['FARGATE', 'FARGATE'\]$", f"{WEB}.capacity.1.provider"),
    Bad("services", f"{WEB}.capacity", [], r"^got \[\]; must name at least one capacity provider$"),
    Bad("services", f"{DEV}.services.agent", {"kind": "daemon", "ec2_capacity": "FARGATE"}, r"^got 'FARGATE'; not an EC2 capacity of the cluster; use one of \['general'\] \(a daemon runs one task per EC2 instance; Fargate has no instances\)$", f"{DEV}.services.agent.ec2_capacity"),
    Bad("services", f"{DEV}.services.agent", {"kind": "daemon", "cpu_architecture": "x86_64"}, r"^got 'x86_64'; must be \['arm64'\] to match the EC2 capacities it runs on$", f"{DEV}.services.agent.cpu_architecture"),
    Bad("services", f"{WORKER}.deployment", {"type": "blue_green"}, r"^got 'blue_green'; deployment type blue_green needs an Application Load Balancer: only kind web services shift traffic; use type rolling for kind worker$", f"{WORKER}.deployment.type"),
    Bad("services", f"{TCP}.deployment", {"type": "canary"}, r"^got 'canary'; deployment type canary needs an Application Load Balancer", f"{TCP}.deployment.type"),
    Bad("services", f"{API}.priority", 100, r"^got 100; already used by services\.web on load balancer 'public'; priorities must be unique per load balancer$"),
    Bad("services", f"{API}.priority", 0, r"^got 0; Input should be greater than or equal to 1$"),
    Bad("services", f"{WEB}.port", 70000, r"^got 70000; Input should be less than or equal to 65535$"),
    Bad("services", f"{TCP}.listener_port", 0, r"^got 0; Input should be greater than or equal to 1$"),
    Bad("services", f"{WEB}.desired_count", -1, r"^got -1; Input should be greater than or equal to 0$"),
    Bad("services", f"{POOL}.instance_types", ["t3.medium"], r"^must be 'x86_64' to run on EC2 capacity 'general' \(its instance types are x86_64 only\); build the image for x86_64 or use a capacity with arm64 instance types, got 'arm64'$", f"{API}.cpu_architecture"),
    Bad("services", f"{API}.ephemeral_storage_gib", 30, r"^got 30; ephemeral_storage_gib applies to Fargate only; on EC2 capacity size the instances' root_volume_size_gib$"),
    Bad("services", f"{WEB}.kind", "lambda", r"^got 'lambda'; must be one of 'web', 'network', 'worker', 'scheduled', 'daemon'$"),
    Bad("services", WEB, {"load_balancer": "public", "priority": 1}, r"^required key is missing; one of \['web', 'network', 'worker', 'scheduled', 'daemon'\]$", f"{WEB}.kind"),
    Bad("services", f"{WEB}.cpux", 1, r"^unknown key; allowed keys here: \[.*'cpu', .*'priority'"),
    Bad("services", f"{WEB}.load_balancer", "internal", r"^got 'internal'; must be one of load_balancers \['public'\]$"),
    Bad("services", f"{WEB}.host_headers", [f"h{i}.example.com" for i in range(4)], r"^got \[.*\]; List should have at most 3 items after validation, not 4$"),
    Bad("services", f"{WEB}.host_headers", ["App.Example.com"], r"^must be a lower-case DNS name like 'app\.example\.com', got 'App\.Example\.com'$", f"{WEB}.host_headers.0"),
    Bad("services", f"{WEB}.health_check_timeout_seconds", 20, r"^got 20; must be less than health_check_interval_seconds \(15\)$"),
    Bad("services", f"{WEB}.health_check_codes", "2xx", r"^must be HTTP codes like '200', '200-399' or '200,302', got '2xx'$"),
    Bad("services", f"{WEB}.secrets", {"DB": {}}, r"^got None; give exactly one of secrets_manager or ssm_parameter$", f"{WEB}.secrets.DB.secrets_manager"),
    Bad("services", f"{WEB}.environment", {"bad-name": "x"}, r"^must be an environment variable name like 'LOG_LEVEL', got 'bad-name'$", f"{WEB}.environment.bad-name"),
    Bad("services", f"{WEB}.image_tag", "v1!", r"^must be a Docker tag \(letters, digits, '_', '\.', '-'\), got 'v1!'$"),
    Bad("services", f"{WEB}.image", "nginx 1", r"^got 'nginx 1'; String should match pattern"),
    Bad("services", f"{DEV}.services.nightly.schedule", "daily", r"^must be 'rate\(<n> minutes\|hours\|days\)' \(singular for 1\) or a six-field 'cron\(.*\)', e\.g\. 'cron\(0 3 \* \* \? \*\)', got 'daily'$"),
    Bad("services", f"{TCP}.protocol", "UDP", r"^got 'UDP'; protocol UDP needs health_check_port"),
    Bad("services", f"{TCP}.protocol", "TLS", r"^got 'TLS'; protocol TLS needs certificate_arn, or domain_name \+ hosted_zone_id"),
    Bad("services", f"{WORKER}.deployment", {"min_healthy_percent": 50, "max_healthy_percent": 100}, r"^must be False when max_healthy_percent is 100 .*, got True$", f"{WORKER}.deployment.availability_zone_rebalancing"),
    Bad("services", f"{WORKER}.deployment", {"min_healthy_percent": 100, "max_healthy_percent": 100, "availability_zone_rebalancing": False}, r"^must be above min_healthy_percent \(100\), or no task can be replaced, got 100$", f"{WORKER}.deployment.max_healthy_percent"),
    Bad("services", f"{WORKER}.deployment", {"step_percent": 10}, r"^got 10\.0; step_percent applies to type canary or linear, not rolling$", f"{WORKER}.deployment.step_percent"),
    Bad("services", f"{PROD}.services.web.deployment.step_percent", 0.05, r"^must be a multiple of 0\.1 between 0\.1 and 100\.0, got 0\.05$"),
    Bad("services", f"{PROD}.services.web.deployment", {"type": "canary", "bake_time_minutes": 1440, "step_bake_time_minutes": 1440}, r"^got 1440; bake_time_minutes \+ step_bake_time_minutes must be at most 1980 minutes \(33 hours\) of bake time in total, or CloudFormation rejects the deployment; shorten the bake times or use larger steps, got '2880 minutes'$", f"{PROD}.services.web.deployment.step_bake_time_minutes"),
    Bad("services", f"{PROD}.services.web.desired_count", 2, r"^got 2; desired_count must be unset when autoscaling owns the task count"),
    Bad("services", f"{PROD}.load_balancers.public.hosted_zone_name", "example.org", r"^got 'example\.org'; domain_name 'app\.example\.com' is not in hosted zone 'example\.org'$"),
    # scaling
    Bad("scaling", f"{SCALING}.min_tasks", 5, r"^got 5; must be <= max_tasks \(4\)$"),
    Bad("scaling", f"{SCALING}.max_tasks", 11, r"^got 11; must be <= max_tasks_per_service \(10\) of the environment$"),
    Bad("scaling", f"{SCALING}.max_tasks", 0, r"^got 0; Input should be greater than or equal to 1$"),
    Bad("scaling", f"{SCALING}.target_cpu_percent", 120, r"^got 120; Input should be less than or equal to 100$"),
    Bad("scaling", f"{SCALING}.scale_in_cooldown_seconds", -5, r"^got -5; Input should be greater than or equal to 0$"),
    Bad("scaling", f"{SCALING}.requests_per_target", 0, r"^got 0; Input should be greater than or equal to 1$"),
    Bad("scaling", f"{SCHEDULE}.schedule", "cron(0 8 * * *)", r"^must be a six-field 'cron\(min hour day-of-month month day-of-week year\)', e\.g\. 'cron\(0 8 \? \* MON-FRI \*\)', got 'cron\(0 8 \* \* \*\)'$"),
    Bad("scaling", f"{SCHEDULE}.schedule", "cron(0 25 ? * MON-FRI *)", r"^must be a cron hour field between 0 and 23, got 'cron\(0 25 \? \* MON-FRI \*\)'$"),
    Bad("scaling", f"{SCHEDULE}.time_zone", "Europe/Pariss", r"^must be an IANA time zone like 'Europe/Paris' or 'UTC', got 'Europe/Pariss'$"),
    Bad("scaling", f"{SCHEDULE}.min_tasks", 9, r"^got 9; must be <= max_tasks \(4\)$"),
    Bad("scaling", f"{SCHEDULE}.max_tasks", 20, r"^got 20; must be <= max_tasks_per_service \(10\) of the environment$"),
    Bad("scaling", f"{SCALING}.schedules.1.name", "business-hours", r"^got 'business-hours'; schedules names must be unique: \['business-hours', 'business-hours'\]$"),
    Bad("scaling", f"{TCP}.autoscaling.queue_backlog_per_task", 5, r"^got 5; queue_backlog_per_task needs a kind worker service with a queue$"),
    Bad("scaling", f"{WORKER}.autoscaling.requests_per_target", 100, r"^got 100; requests_per_target needs a kind web service with a rolling deployment"),
    Bad("scaling", f"{PROD}.services.web.autoscaling.requests_per_target", 100, r"^got 100; requests_per_target needs a kind web service with a rolling deployment \(traffic shifting moves traffic to another target group\)$"),
    Bad("scaling", f"{WEB}.desired_count", 2, r"^got 2; desired_count must be unset when autoscaling owns the task count .*use autoscaling\.min_tasks$"),
    # alarms and notifications
    Bad("alarms", f"{ALARMS}.warning", {"max_cpu_percnt": 80}, r"^got 'max_cpu_percnt'; Input should be 'max_cpu_percent'", f"{ALARMS}.warning.max_cpu_percnt"),
    Bad("alarms", f"{ALARMS}.critical", {"max_5xx_percent": 150}, r"^must be a percentage between 0 and 100, got 150$", f"{ALARMS}.critical.max_5xx_percent"),
    Bad("alarms", f"{ALARMS}.critical", {"max_p99_latency_ms": -1}, r"^must be >= 0, got -1$", f"{ALARMS}.critical.max_p99_latency_ms"),
    Bad("alarms", f"{ALARMS}.critical", {"max_5xx_percent": {"threshold": 5, "evaluation_periods": 2, "datapoints": 3}}, r"^got 2; must be >= datapoints \(3\): an alarm cannot need more breaching datapoints than it evaluates$", f"{ALARMS}.critical.max_5xx_percent.evaluation_periods"),
    Bad("alarms", f"{ALARMS}.critical", {"max_5xx_percent": {"threshold": 5, "evaluation_periods": 0}}, r"^got 0; Input should be greater than or equal to 1$", f"{ALARMS}.critical.max_5xx_percent.evaluation_periods"),
    Bad("alarms", f"{ALARMS}.critical", {"max_5xx_percent": "5"}, r"^got '5'; Input should be a valid dictionary or instance of ThresholdConfig$", f"{ALARMS}.critical.max_5xx_percent"),
    Bad("alarms", f"{ALARMS}.page", {}, r"^unknown key; allowed keys here: \['critical', 'enabled', 'rollback_on_alarm', 'warning'\]$"),
    Bad("alarms", f"{ALARMS}.enabled", "no", r"^got 'no'; Input should be a valid boolean$"),
    Bad("alarms", f"{DEV}.notifications.topic_arn", "arn:aws:sqs:eu-west-1:123456789012:q", r"^got 'arn:aws:sqs:eu-west-1:123456789012:q'; String should match pattern"),
    Bad("alarms", f"{DEV}.notifications.emails", ["oncall"], r"^got 'oncall'; String should match pattern", f"{DEV}.notifications.emails.0"),
]  # fmt: skip


def the_problem(raw: dict[str, Any], bad: Bad) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load_config(with_value(raw, bad.at, bad.value))
    problems = caught.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_the_table_covers_every_area() -> None:
    counts = {area: sum(1 for bad in BAD_CONFIGS if bad.area == area) for area in AREAS}
    assert all(count >= 5 for count in counts.values()), counts
    assert len(BAD_CONFIGS) >= 40
    assert {bad.area for bad in BAD_CONFIGS} <= set(AREAS)


@pytest.mark.parametrize(
    "bad", BAD_CONFIGS, ids=[f"{b.area}:{b.at}={b.value!r}" for b in BAD_CONFIGS]
)
def test_bad_config_is_one_clear_problem_and_synth_exits_1(
    raw: dict[str, Any],
    bad: Bad,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    problem = the_problem(raw, bad)
    # (a) the exact key path, as data and at the start of the printed line
    assert problem.path == bad.expected_path
    line = str(problem)
    assert line.startswith(f"ecskit.{bad.expected_path}: ")
    assert "\n" not in line
    # (b) the message names the value given and the fix
    assert re.search(bad.message, problem.message), problem.message
    named = problem.message.startswith(("unknown key", "required key is missing"))
    assert named or repr(problem.value) in problem.message, (problem.value, problem.message)
    # (c) synth (what app.py and `cdk synth` run) exits 1 with that line and no traceback
    monkeypatch.setenv(
        "CDK_CONTEXT_JSON", json.dumps({"ecskit": with_value(raw, bad.at, bad.value)})
    )
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    assert main() == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == ["ecskit: invalid configuration (1 problem):", line]
    assert out == ""
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_every_problem_is_reported_at_once(raw: dict[str, Any]) -> None:
    data = with_value(raw, f"{DEV}.network.max_azs", 0)
    data = with_value(data, f"{PROD}.registry.max_image_count", 0)
    data = with_value(data, f"{WEB}.memory_mib", 4096)
    with pytest.raises(ConfigError) as caught:
        load_config(data)
    assert [p.path for p in caught.value.problems] == [
        f"{DEV}.network.max_azs",
        f"{PROD}.registry.max_image_count",
    ]  # the services' cross-checks run once the environment's own keys are valid
    assert str(caught.value).splitlines() == [
        "invalid ecskit configuration:",
        *(f"  - {p}" for p in caught.value.problems),
    ]


def test_listener_rule_takes_five_values_in_all(raw: dict[str, Any]) -> None:
    data = with_value(raw, f"{API}.host_headers", ["a.example.com"] * 3)
    data = with_value(data, f"{API}.path_patterns", ["/a", "/b", "/c"])
    with pytest.raises(ConfigError) as caught:
        load_config(data)
    (problem,) = caught.value.problems
    assert problem.path == f"{API}.path_patterns"
    assert problem.message.startswith(
        "got ['/a', '/b', '/c']; host_headers + path_patterns must be at most 5 values "
        "together (an ALB rule takes 5 match evaluations), got ['a.example.com', "
    )


def test_unknown_environment_names_the_env_context_key(raw: dict[str, Any]) -> None:
    from stacks.config import select_environment

    with pytest.raises(ConfigError) as caught:
        select_environment(load_config(raw), "staging")
    (problem,) = caught.value.problems
    assert (problem.root, problem.path, problem.value) == ("env", "", "staging")
    assert str(problem).startswith("env: 'staging' is not a configured environment")


def test_bad_config_never_imports_aws_cdk(raw: dict[str, Any], tmp_path: Path) -> None:
    """The whole failing path (app.py's main) runs without loading aws_cdk or jsii."""
    bad = with_value(raw, f"{WEB}.memory_mib", 4096)
    script = (
        "import sys\n"
        "from stacks.app import main\n"
        "code = main()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs'))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "CDK_CONTEXT_JSON": json.dumps({"ecskit": bad}),
            "CDK_OUTDIR": str(tmp_path),
        },
    )
    assert result.stdout.strip() == "1 []", result.stdout + result.stderr
    assert f"ecskit.{WEB}.memory_mib: must be 512, 1024, 2048 MiB" in result.stderr


CLI_ROWS = [
    Bad("network", f"{DEV}.network.nat_gateways", 3, ""),
    Bad("services", f"{WEB}.memory_mib", 4096, ""),
]


@pytest.mark.cli
@pytest.mark.parametrize("bad", CLI_ROWS, ids=[b.area for b in CLI_ROWS])
def test_cdk_cli_synth_fails_with_the_path(raw: dict[str, Any], bad: Bad, tmp_path: Path) -> None:
    """The real ``cdk synth`` in a project whose cdk.json holds the bad configuration."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "cdk.json").write_text(
        json.dumps(
            {
                "app": f"{ROOT / '.venv' / 'bin' / 'python'} {ROOT / 'app.py'}",
                "context": {"ecskit": with_value(raw, bad.at, bad.value)},
            }
        )
    )
    result = cdk_cli("synth", "--quiet", "--output", str(tmp_path / "out"), cwd=project)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"ecskit.{bad.expected_path}: " in output
    assert "Traceback" not in output
    assert "jsii" not in output.lower()
    assert not (tmp_path / "out" / "manifest.json").exists()
