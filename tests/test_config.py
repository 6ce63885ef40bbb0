"""stacks/config.py: the committed configuration is valid and defaults fill in.

Invalid values (one problem each, at its exact key path) are in tests/test_bad_config.py."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import AppConfig, ConfigError, load_config, select_environment


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
    with pytest.raises(ConfigError) as caught:
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
    (problem,) = caught.value.problems
    assert (problem.path, problem.value) == ("environments.dev.services.agent.kind", "daemon")
    assert str(problem) == (
        "ecskit.environments.dev.services.agent.kind: got 'daemon'; a daemon runs one task per "
        "EC2 instance and the cluster has no ec2_capacity (Fargate has no instances); add "
        "cluster.ec2_capacity or use kind worker"
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
