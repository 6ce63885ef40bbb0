"""stacks/config.py: the committed configuration is valid; each bad value is one clear error."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from stacks.config import AppConfig, ConfigError, load_config, select_environment
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]["ecskit"]
    return data


def with_value(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``value`` at dotted ``path`` (list indexes as numbers)."""
    data = copy.deepcopy(raw)
    node: Any = data
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_committed_config_is_valid(raw: dict[str, Any]) -> None:
    config = load_config(raw)
    assert isinstance(config, AppConfig)
    assert set(config.environments) >= {"dev", "prod"}
    dev = config.environments["dev"]
    assert dev.network.nat_gateways == 0
    assert dev.zones == ["eu-west-1a", "eu-west-1b"]
    prod = config.environments["prod"]
    assert prod.account == "222222222222"
    assert prod.registry.removal_policy == "retain"
    assert prod.cluster.ec2_capacity[0].architecture == "arm64"


def test_committed_services_demonstrate_every_kind(raw: dict[str, Any]) -> None:
    config = load_config(raw)
    dev, prod = config.environments["dev"], config.environments["prod"]
    assert {name: svc.kind for name, svc in dev.services.items()} == {
        "web": "web",
        "api": "web",
        "tcp": "network",
        "worker": "worker",
        "nightly": "scheduled",
    }
    assert [s.provider for s in dev.services["worker"].capacity or []] == ["FARGATE_SPOT"]
    assert [s.provider for s in dev.services["api"].capacity or []] == ["general"]
    assert dev.load_balancers["public"].https is False
    assert prod.load_balancers["public"].https is True
    assert prod.services["agent"].kind == "daemon"
    assert {prod.services[n].deployment.type for n in ("web", "api")} == {"canary", "blue_green"}  # type: ignore[union-attr]


def test_service_defaults() -> None:
    config = load_config(
        {
            "owner": "team",
            "environments": {
                "dev": {
                    "region": "us-east-2",
                    "availability_zones": ["us-east-2a", "us-east-2b"],
                    "load_balancers": {"alb": {"ingress_cidrs": ["0.0.0.0/0"]}},
                    "services": {"web": {"kind": "web", "load_balancer": "alb", "priority": 1}},
                }
            },
        }
    )
    env = config.environments["dev"]
    web = env.services["web"]
    assert web.kind == "web"
    assert (web.cpu, web.memory_mib, web.port, web.cpu_architecture) == (256, 512, 80, "x86_64")
    assert web.deployment.type == "rolling"  # type: ignore[union-attr]
    assert (web.deployment.min_healthy_percent, web.deployment.max_healthy_percent) == (100, 200)  # type: ignore[union-attr]
    assert web.desired_count is None  # type: ignore[union-attr]
    lb = env.load_balancers["alb"]
    assert (lb.internet_facing, lb.deletion_protection, lb.access_logs) == (True, True, True)


def test_daemon_needs_ec2_capacity() -> None:
    with pytest.raises(
        ConfigError,
        match=r"environments\.dev: services\.agent: a daemon runs one task per EC2 instance and the cluster has no ec2_capacity \(Fargate has no instances\); add cluster\.ec2_capacity or use kind worker",
    ):
        load_config(
            {
                "owner": "team",
                "environments": {
                    "dev": {
                        "region": "us-east-2",
                        "availability_zones": ["us-east-2a", "us-east-2b"],
                        "services": {"agent": {"kind": "daemon"}},
                    }
                },
            }
        )


def test_defaults_fill_in_a_minimal_environment() -> None:
    config = load_config(
        {
            "owner": "team",
            "environments": {
                "dev": {"region": "us-east-2", "availability_zones": ["us-east-2a", "us-east-2b"]}
            },
        }
    )
    env = config.environments["dev"]
    assert env.network.max_azs == 2
    assert env.network.nat_gateways == 1
    assert env.registry.immutable_tags is True
    assert env.registry.removal_policy == "retain"
    assert env.cluster.container_insights == "enhanced"
    assert [s.provider for s in env.cluster.default_capacity_provider_strategy] == ["FARGATE"]


def test_select_environment_defaults_and_rejects_unknown(raw: dict[str, Any]) -> None:
    config = load_config(raw)
    assert select_environment(config, None)[0] == "dev"
    assert select_environment(config, "prod")[0] == "prod"
    with pytest.raises(ConfigError, match=r"env: 'staging' is not a configured environment"):
        select_environment(config, "staging")


def test_missing_context_is_one_error() -> None:
    with pytest.raises(ConfigError, match=r"ecskit: missing or not an object"):
        load_config(None)


# (dotted path to change, new value, regex the error must match: key path + what is allowed)
BAD_VALUES = [
    ("environments.dev.network.max_azs", 0, r"environments\.dev\.network\.max_azs: got 0; .*greater than or equal to 2"),
    ("environments.dev.network.max_azs", 4, r"environments\.dev\.network\.max_azs: got 4; .*less than or equal to 3"),
    ("environments.dev.network.max_azs", "2", r"environments\.dev\.network\.max_azs: got '2'; Input should be a valid integer"),
    ("environments.dev.network.nat_gateways", 3, r"environments\.dev\.network: .*nat_gateways \(3\) must be <= max_azs \(2\)"),
    ("environments.dev.network.cidr", "10.0.0.0/33", r"environments\.dev\.network\.cidr: must be an IPv4 CIDR block like '10\.0\.0\.0/16'"),
    ("environments.dev.network.cidr", "10.0.0.1/16", r"environments\.dev\.network\.cidr: .*has host bits set"),
    ("environments.dev.network.cidr", "10.0.0.0/26", r"network\.cidr: must be a CIDR block with a prefix between /16 and /24, got '10\.0\.0\.0/26'"),
    ("environments.dev.network.cidr", "10.0.0.0/19", r"environments\.dev\.network: .*has 8192 addresses .* need 8704; use a larger CIDR"),
    ("environments.dev.network.cidr", "10.0.0.0/22", r"environments\.dev\.network: private_subnet_mask must be between 23 and 28 for a /22 VPC, got 20"),
    ("environments.dev.network.flow_log_retention_days", 31, r"flow_log_retention_days: got 31; must be one of \[1, 3, 5"),
    ("environments.dev.network.endpoints", ["ecr.api", "ftp"], r"network\.endpoints\.1: got 'ftp'; Input should be 's3', 'dynamodb'"),
    ("environments.dev.network.endpoints", ["s3", "s3"], r"network\.endpoints: got \['s3', 's3'\]; must not list an endpoint twice"),
    ("environments.dev.network.natgateways", 1, r"environments\.dev\.network\.natgateways: unknown key; allowed keys here: \[.*'nat_gateways'"),
    ("environments.dev.region", "Europe", r"environments\.dev\.region: must be an AWS region name like 'eu-west-1', got 'Europe'"),
    ("environments.dev.account", "1234", r"environments\.dev\.account: must be a 12-digit AWS account id, got '1234'"),
    ("environments.dev.availability_zones", ["eu-west-1a", "us-east-1b"], r"environments\.dev: .*'us-east-1b' is not an AZ of region eu-west-1"),
    ("environments.dev.availability_zones", ["eu-west-1a"], r"environments\.dev\.availability_zones: got \['eu-west-1a'\]; List should have at least 2 items"),
    ("environments.dev.registry.max_image_count", 0, r"registry\.max_image_count: got 0; .*greater than or equal to 1"),
    ("environments.dev.registry.removal_policy", "delete", r"registry\.removal_policy: got 'delete'; Input should be 'retain' or 'destroy'"),
    ("environments.dev.registry.repository_name", "My_Repo", r"registry\.repository_name: got 'My_Repo'; must be lower-case"),
    ("environments.dev.registry.pull_account_ids", ["12"], r"registry\.pull_account_ids: must be a 12-digit AWS account id, got '12'"),
    ("environments.dev.registry.scan_on_push", "yes", r"registry\.scan_on_push: got 'yes'; Input should be a valid boolean"),
    ("environments.dev.cluster.container_insights", "on", r"cluster\.container_insights: got 'on'; Input should be 'enhanced', 'enabled' or 'disabled'"),
    ("environments.dev.cluster.ec2_capacity.0.instance_types", ["t3.mediumm"], r"ec2_capacity\.0\.instance_types: \[0\] must be an EC2 instance type like 't3\.medium'.*got 't3\.mediumm'"),
    ("environments.dev.cluster.ec2_capacity.0.instance_types", ["m7g.large", "m6i.large"], r"ec2_capacity\.0\.instance_types: .*mixes CPU architectures"),
    ("environments.dev.cluster.ec2_capacity.0.min_capacity", 5, r"ec2_capacity\.0: .*min_capacity \(5\) must be <= max_capacity \(2\)"),
    ("environments.dev.cluster.ec2_capacity.0.max_capacity", -1, r"ec2_capacity\.0\.max_capacity: got -1; .*greater than or equal to 1"),
    ("environments.dev.cluster.ec2_capacity.0.on_demand_percentage_above_base", 101, r"on_demand_percentage_above_base: got 101; .*less than or equal to 100"),
    ("environments.dev.cluster.ec2_capacity.0.machine_image", "al2", r"machine_image: got 'al2'; Input should be 'al2023' or 'bottlerocket'"),
    ("environments.dev.cluster.ec2_capacity.0.name", "Big Pool", r"ec2_capacity\.0\.name: got 'Big Pool'; String should match pattern"),
    ("environments.dev.cluster.default_capacity_provider_strategy", [{"provider": "gpu"}], r"environments\.dev\.cluster: .*names provider 'gpu', which the cluster does not have; use one of \['FARGATE', 'FARGATE_SPOT', 'general'\]"),
    ("environments.dev.cluster.default_capacity_provider_strategy", [{"provider": "FARGATE"}, {"provider": "general"}], r"cluster: .*mixes Fargate and EC2"),
    ("environments.dev.cluster.default_capacity_provider_strategy", [{"provider": "FARGATE", "base": 1}, {"provider": "FARGATE_SPOT", "base": 1}], r"cluster: .*at most one entry may set base"),
    # services and load balancers (issue 3): the config rejects what the constructs reject
    ("environments.dev.services.web.memory_mib", 4096, r"environments\.dev: services\.web\.memory_mib must be 512, 1024, 2048 MiB with cpu 256 on Fargate \(pick a memory size from that list, or another cpu\), got 4096"),
    ("environments.dev.services.web.cpu", 300, r"environments\.dev: services\.web\.cpu must be one of \[256, 512, 1024, 2048, 4096, 8192, 16384\] on Fargate, got 300"),
    ("environments.dev.load_balancers.public.protocol", "HTTPS", r"environments\.dev\.load_balancers\.public: .*HTTPS needs certificate_arn, or domain_name \+ hosted_zone_id \+ hosted_zone_name"),
    ("environments.dev.load_balancers.public.redirect_http", True, r"load_balancers\.public: .*redirect_http needs HTTPS \(there is no HTTPS listener to redirect to\)"),
    ("environments.dev.load_balancers.public.ingress_cidrs", ["0.0.0.0/33"], r"load_balancers\.public\.ingress_cidrs: must be an IPv4/IPv6 CIDR like '203\.0\.113\.0/24' or a prefix list id 'pl-\.\.\.', got '0\.0\.0\.0/33'"),
    ("environments.dev.load_balancers.public.test_listener_port", 80, r"load_balancers\.public: .*listener ports must be distinct, got \[80, 80\]"),
    ("environments.dev.load_balancers.public.ingress_cidrs", None, r"load_balancers\.public: an internet-facing load balancer needs ingress_cidrs \(e\.g\. \[\"0\.0\.0\.0/0\"\] for everyone\) or ingress_prefix_lists: who may connect is never implicit"),
    ("environments.dev.services.tcp.internet_facing", True, r"services\.tcp: an internet-facing load balancer needs ingress_cidrs"),
    ("environments.dev.load_balancers.spare", {"internet_facing": False}, r"environments\.dev: load_balancers\.spare is not used by any kind web service"),
    ("environments.dev.services.web.capacity", [{"provider": "gpu"}], r"environments\.dev: services\.web\.capacity\.0\.provider names 'gpu', which the cluster does not have; use one of \['FARGATE', 'FARGATE_SPOT', 'general'\]"),
    ("environments.dev.services.web.capacity", [{"provider": "FARGATE"}, {"provider": "general"}], r"services\.web\.capacity mixes Fargate and EC2 capacity providers"),
    ("environments.dev.services.agent", {"kind": "daemon", "ec2_capacity": "FARGATE"}, r"services\.agent\.ec2_capacity 'FARGATE' is not an EC2 capacity of the cluster; use one of \['general'\] \(a daemon runs one task per EC2 instance; Fargate has no instances\)"),
    ("environments.dev.services.agent", {"kind": "daemon", "cpu_architecture": "x86_64"}, r"services\.agent\.cpu_architecture must be \['arm64'\] to match the EC2 capacities it runs on, got 'x86_64'"),
    ("environments.dev.services.worker.deployment", {"type": "blue_green"}, r"services\.worker\.deployment\.type blue_green needs an Application Load Balancer: only kind web services shift traffic; use type rolling for kind worker"),
    ("environments.dev.services.tcp.deployment", {"type": "canary"}, r"services\.tcp\.deployment\.type canary needs an Application Load Balancer"),
    ("environments.dev.services.api.priority", 100, r"services\.api\.priority 100 is already used by services\.web on load balancer 'public'; priorities must be unique per load balancer"),
    ("environments.dev.services.api.priority", 0, r"services\.api\.priority: got 0; Input should be greater than or equal to 1"),
    ("environments.dev.services.web.port", 70000, r"environments\.dev\.services\.web\.port: got 70000; Input should be less than or equal to 65535"),
    ("environments.dev.services.tcp.listener_port", 0, r"services\.tcp\.listener_port: got 0; Input should be greater than or equal to 1"),
    ("environments.dev.services.web.desired_count", -1, r"environments\.dev\.services\.web\.desired_count: got -1; Input should be greater than or equal to 0"),
    ("environments.dev.cluster.ec2_capacity.0.instance_types", ["t3.medium"], r"environments\.dev: services\.api\.cpu_architecture must be 'x86_64' to run on EC2 capacity 'general' \(its instance types are x86_64 only\).*got 'arm64'"),
    ("environments.dev.services.api.ephemeral_storage_gib", 30, r"services\.api\.ephemeral_storage_gib applies to Fargate only"),
    ("environments.dev.services.web.kind", "lambda", r"environments\.dev\.services\.web\.kind: got 'lambda'; must be one of 'web', 'network', 'worker', 'scheduled', 'daemon'"),
    ("environments.dev.services.web.cpux", 1, r"environments\.dev\.services\.web\.cpux: unknown key; allowed keys here: \[.*'cpu', .*'priority'"),
    ("environments.dev.services.web.load_balancer", "internal", r"services\.web\.load_balancer 'internal' is not one of load_balancers \['public'\]"),
    ("environments.dev.services.web.host_headers", [f"h{i}.example.com" for i in range(4)], r"services\.web\.host_headers: .*List should have at most 3 items"),
    ("environments.dev.services.web.health_check_timeout_seconds", 20, r"services\.web: .*health_check_timeout_seconds \(20\) must be less than health_check_interval_seconds \(15\)"),
    ("environments.dev.services.web.secrets", {"DB": {}}, r"services\.web\.secrets\.DB: .*give exactly one of secrets_manager or ssm_parameter"),
    ("environments.dev.services.web.environment", {"bad-name": "x"}, r"services\.web\.environment: must be an environment variable name like 'LOG_LEVEL', got 'bad-name'"),
    ("environments.dev.services.web.image_tag", "v1!", r"environments\.dev\.services\.web: image_tag must be a Docker tag \(letters, digits, '_', '\.', '-'\), got 'v1!'"),
    ("environments.dev.services.nightly.schedule", "daily", r"services\.nightly\.schedule: must be 'rate\(<n> minutes\|hours\|days\)'"),
    ("environments.dev.services.tcp.protocol", "UDP", r"services\.tcp: .*protocol UDP needs health_check_port"),
    ("environments.dev.services.tcp.protocol", "TLS", r"services\.tcp: .*protocol TLS needs certificate_arn, or domain_name \+ hosted_zone_id"),
    ("environments.dev.services.worker.deployment", {"min_healthy_percent": 50, "max_healthy_percent": 100}, r"services\.worker\.deployment: deployment\.availability_zone_rebalancing must be False when max_healthy_percent is 100 .*got True"),
    ("environments.dev.services.worker.deployment", {"min_healthy_percent": 100, "max_healthy_percent": 100, "availability_zone_rebalancing": False}, r"services\.worker\.deployment: deployment\.max_healthy_percent must be above min_healthy_percent \(100\), or no task can be replaced, got 100"),
    ("environments.dev.services.worker.deployment", {"step_percent": 10}, r"services\.worker\.deployment: .*step_percent applies to type canary or linear, not rolling"),
    ("environments.prod.services.web.deployment.step_percent", 0.05, r"prod\.services\.web\.deployment: step_percent must be a multiple of 0\.1 between 0\.1 and 100\.0, got 0\.05"),
    ("environments.prod.services.web.deployment", {"type": "canary", "bake_time_minutes": 1440, "step_bake_time_minutes": 1440}, r"prod\.services\.web\.deployment: bake_time_minutes \+ step_bake_time_minutes must be at most 1980 minutes \(33 hours\) of bake time in total, or CloudFormation rejects the deployment; shorten the bake times or use larger steps, got '2880 minutes'"),
    ("environments.prod.services.web.desired_count", 2, r"prod\.services\.web: .*desired_count must be unset when autoscaling owns the task count"),
    ("environments.prod.load_balancers.public.hosted_zone_name", "example.org", r"load_balancers\.public: .*domain_name 'app\.example\.com' is not in hosted zone 'example\.org'"),
    ("default_environment", "qa", r"ecskit: .*default_environment 'qa' is not one of the environments"),
    ("owner", "", r"ecskit\.owner: got ''; String should have at least 1 character"),
    # scaling and alarms (issue 4)
    ("environments.dev.services.web.autoscaling.min_tasks", 5, r"services\.web\.autoscaling: .*min_tasks \(5\) must be <= max_tasks \(4\)"),
    ("environments.dev.services.web.autoscaling.max_tasks", 11, r"environments\.dev: services\.web\.autoscaling\.max_tasks \(11\) must be <= max_tasks_per_service \(10\)"),
    ("environments.dev.services.web.autoscaling.target_cpu_percent", 120, r"autoscaling\.target_cpu_percent: got 120; .*less than or equal to 100"),
    ("environments.dev.services.web.autoscaling.schedules.0.schedule", "cron(0 8 * * *)", r"schedules\.0\.schedule: must be a six-field 'cron"),
    ("environments.dev.services.web.autoscaling.schedules.0.time_zone", "Europe/Pariss", r"schedules\.0\.time_zone: must be an IANA time zone like 'Europe/Paris' or 'UTC', got 'Europe/Pariss'"),
    ("environments.dev.services.web.autoscaling.schedules.0.min_tasks", 9, r"schedules\.0: .*min_tasks \(9\) must be <= max_tasks \(4\)"),
    ("environments.dev.services.tcp.autoscaling.queue_backlog_per_task", 5, r"services\.tcp\.autoscaling\.queue_backlog_per_task needs a kind worker service with a queue"),
    ("environments.dev.services.web.alarms.warning", {"max_cpu_percnt": 80}, r"alarms\.warning\.max_cpu_percnt: got 'max_cpu_percnt'; Input should be 'max_cpu_percent'"),
    ("environments.dev.services.web.alarms.critical", {"max_5xx_percent": 150}, r"services\.web\.alarms: critical\.max_5xx_percent must be a percentage between 0 and 100, got 150"),
    ("environments.dev.services.web.alarms.critical", {"max_5xx_percent": {"threshold": 5, "evaluation_periods": 2, "datapoints": 3}}, r"alarms\.critical\.max_5xx_percent: evaluation_periods \(2\) must be >= datapoints \(3\)"),
    ("environments.dev.notifications.topic_arn", "arn:aws:sqs:eu-west-1:123456789012:q", r"notifications\.topic_arn: got 'arn:aws:sqs.*String should match pattern"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "message"), BAD_VALUES, ids=[f"{p}={v!r}" for p, v, _ in BAD_VALUES]
)
def test_bad_value_is_a_clear_error(
    raw: dict[str, Any], path: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(with_value(raw, path, value))
    assert len(caught.value.problems) == 1, caught.value.problems


def test_listener_rule_takes_five_values_in_all(raw: dict[str, Any]) -> None:
    data = with_value(raw, "environments.dev.services.api.host_headers", ["a.example.com"] * 3)
    data = with_value(data, "environments.dev.services.api.path_patterns", ["/a", "/b", "/c"])
    with pytest.raises(
        ConfigError,
        match=r"services\.api: .*rule\.host_headers \+ path_patterns must be at most 5 values",
    ):
        load_config(data)


def test_every_problem_is_reported_at_once(raw: dict[str, Any]) -> None:
    data = with_value(raw, "environments.dev.network.max_azs", 0)
    data = with_value(data, "environments.prod.registry.max_image_count", 0)
    with pytest.raises(ConfigError) as caught:
        load_config(data)
    paths = [re.match(r"[\w.]+", p).group(0) for p in caught.value.problems]  # type: ignore[union-attr]
    assert paths == [
        "ecskit.environments.dev.network.max_azs",
        "ecskit.environments.prod.registry.max_image_count",
    ]
