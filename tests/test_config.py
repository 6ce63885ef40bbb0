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
    ("default_environment", "qa", r"ecskit: .*default_environment 'qa' is not one of the environments"),
    ("owner", "", r"ecskit\.owner: got ''; String should have at least 1 character"),
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
