"""Property-based tests (hypothesis) of the configuration.

* Random valid configurations (network, registry, cluster capacity, strategies, services of
  every kind with valid task sizes, autoscaling, alarms) pass ``load_config`` and synthesize
  with ``build_app`` (cdk-nag included when build_app adds it): few examples, synthesis costs
  seconds.
* Random invalid configurations (a valid one with one mutation: a wrong type, an unknown key,
  a removed key, an out-of-range number, a bad enum) fail in ``load_config`` with
  :class:`ConfigError` only, each problem at a real key path of the input, on one line; never
  a pydantic ``ValidationError``, ``KeyError``, ``TypeError`` or a jsii error.

Reproducible: ``derandomize=True`` and no example database (nothing written to the repo).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import typing
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

from constructs_lib._validate import FARGATE_CPU_MEMORY
from stacks.config import ENDPOINTS, LOG_RETENTION_DAYS, ConfigError, Problem, load_config

# No example database, and hypothesis' own caches (constants, unicode data) outside the repo.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "ecskit-hypothesis")
SETTINGS = {
    "database": None,
    "derandomize": True,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
}
ENV = "dev"  # the environment the random configurations define (and select)
X86 = ["t3.medium", "t3.large", "m6i.large", "c6i.xlarge", "m5.large"]
ARM = ["t4g.medium", "t4g.large", "m7g.large", "c7g.xlarge", "m6g.large"]
POOL_NAMES = ["general", "spot", "batch"]
KINDS = ["web", "network", "worker", "scheduled", "daemon"]

# --- valid configurations ---------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    max_azs = draw(st.integers(2, 3))
    return {
        "cidr": f"10.{draw(st.integers(0, 255))}.0.0/16",
        "max_azs": max_azs,
        "nat_gateways": draw(st.integers(0, max_azs)),
        "isolated_subnets": draw(st.booleans()),
        "flow_logs": draw(st.booleans()),
        "flow_log_retention_days": draw(st.sampled_from(LOG_RETENTION_DAYS)),
        "endpoints": draw(
            st.lists(st.sampled_from(typing.get_args(ENDPOINTS)), unique=True, max_size=4)
        ),
    }


@st.composite
def registries(draw: st.DrawFn) -> dict[str, Any]:
    registry: dict[str, Any] = {
        "scan_on_push": draw(st.booleans()),
        "immutable_tags": draw(st.booleans()),
        "untagged_expiry_days": draw(st.integers(1, 3650)),
        "max_image_count": draw(st.integers(1, 10_000)),
        "encryption": draw(st.sampled_from(["AES256", "KMS"])),
        "removal_policy": draw(st.sampled_from(["retain", "destroy"])),
        "pull_account_ids": draw(
            st.lists(st.from_regex(r"[0-9]{12}", fullmatch=True), unique=True, max_size=2)
        ),
    }
    if draw(st.booleans()):
        registry["repository_name"] = draw(st.sampled_from(["app", "team/app", "my-team/web.app"]))
    return registry


@st.composite
def pools(draw: st.DrawFn, name: str) -> dict[str, Any]:
    types = draw(st.sampled_from([X86, ARM]))
    max_capacity = draw(st.integers(1, 20))
    return {
        "name": name,
        "instance_types": draw(
            st.lists(st.sampled_from(types), min_size=1, max_size=3, unique=True)
        ),
        "min_capacity": draw(st.integers(0, max_capacity)),
        "max_capacity": max_capacity,
        "on_demand_percentage_above_base": draw(st.integers(0, 100)),
        "machine_image": draw(st.sampled_from(["al2023", "bottlerocket"])),
        "target_capacity_percent": draw(st.integers(50, 100)),
    }


def fargate_strategy(draw: st.DrawFn) -> list[dict[str, Any]]:
    providers = draw(st.sampled_from([["FARGATE"], ["FARGATE_SPOT"], ["FARGATE", "FARGATE_SPOT"]]))
    strategy = [{"provider": p, "weight": draw(st.integers(1, 4))} for p in providers]
    if draw(st.booleans()):
        strategy[0]["base"] = draw(st.integers(1, 3))
    return strategy


@st.composite
def task_sizes(draw: st.DrawFn) -> tuple[int, int]:
    cpu = draw(st.sampled_from([256, 512, 1024, 2048]))
    return cpu, draw(st.sampled_from(FARGATE_CPU_MEMORY[cpu]))


@st.composite
def alarms(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    names = ["max_cpu_percent", "max_memory_percent", "min_running_tasks_percent"]
    names += {
        "web": ["max_5xx_percent", "max_p99_latency_ms", "max_unhealthy_hosts"],
        "network": ["max_unhealthy_hosts", "max_tcp_resets"],
        "worker": ["max_queue_age_seconds", "max_dlq_messages"],
    }[kind]
    section: dict[str, Any] = {}
    for severity in ("warning", "critical"):
        chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=2))
        values: dict[str, Any] = {}
        for name in chosen:
            limit = 100 if name.endswith("percent") else 5000
            threshold = draw(st.integers(1, limit))
            if draw(st.booleans()):
                periods = draw(st.integers(1, 10))
                values[name] = {
                    "threshold": threshold,
                    "evaluation_periods": periods,
                    "datapoints": draw(st.integers(1, periods)),
                }
            else:
                values[name] = threshold
        section[severity] = values
    return section


@st.composite
def services(draw: st.DrawFn, capacity: list[dict[str, Any]]) -> dict[str, Any]:
    """1-3 services; ``capacity`` is the cluster's ec2_capacity (daemons need one)."""
    kinds = draw(
        st.lists(
            st.sampled_from(KINDS if capacity else KINDS[:-1]), min_size=1, max_size=3, unique=True
        )
    )
    result: dict[str, Any] = {}
    for i, kind in enumerate(kinds):
        name = f"{kind[:3]}{i}"
        if kind == "daemon":
            result[name] = {"kind": "daemon", "ec2_capacity": capacity[0]["name"]}
            continue
        cpu, memory = draw(task_sizes())
        svc: dict[str, Any] = {"kind": kind, "cpu": cpu, "memory_mib": memory}
        svc["cpu_architecture"] = draw(st.sampled_from(["x86_64", "arm64"]))
        svc["capacity"] = [{"provider": draw(st.sampled_from(["FARGATE", "FARGATE_SPOT"]))}]
        if kind == "web":
            svc.update(load_balancer="public", priority=10 + i)
        elif kind == "network":
            svc.update(port=8080, deletion_protection=False)
        elif kind == "scheduled":
            svc["schedule"] = draw(st.sampled_from(["rate(1 hour)", "cron(0 3 * * ? *)"]))
        if kind in ("web", "network", "worker"):
            if kind == "worker" and draw(st.booleans()):
                svc["queue"] = {"visibility_timeout_seconds": draw(st.integers(0, 900))}
            if draw(st.booleans()):
                high = draw(st.integers(1, 10))
                scaling: dict[str, Any] = {
                    "min_tasks": draw(st.integers(0, high)),
                    "max_tasks": high,
                }
                if "queue" in svc and draw(st.booleans()):
                    scaling["queue_backlog_per_task"] = draw(st.integers(1, 100))
                if kind == "web" and draw(st.booleans()):
                    scaling["requests_per_target"] = draw(st.integers(1, 1000))
                svc["autoscaling"] = scaling
            else:
                svc["desired_count"] = draw(st.integers(0, 3))
            svc["alarms"] = draw(alarms(kind))
        result[name] = svc
    return result


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    region = draw(st.sampled_from(["eu-west-1", "us-east-2", "ap-southeast-2"]))
    network = draw(networks())
    names = draw(st.lists(st.sampled_from(POOL_NAMES), max_size=2, unique=True))
    capacity = [draw(pools(name)) for name in names]
    cluster: dict[str, Any] = {
        "container_insights": draw(st.sampled_from(["enhanced", "enabled", "disabled"])),
        "ec2_capacity": capacity,
        "default_capacity_provider_strategy": fargate_strategy(draw),
    }
    if draw(st.booleans()) and capacity:
        cluster["default_capacity_provider_strategy"] = [{"provider": capacity[0]["name"]}]
    env: dict[str, Any] = {
        "region": region,
        "availability_zones": [f"{region}{z}" for z in "abc"],
        "network": network,
        "registry": draw(registries()),
        "cluster": cluster,
        "services": draw(services(capacity)),
        "max_tasks_per_service": 10,
    }
    if any(s["kind"] == "web" for s in env["services"].values()):
        env["load_balancers"] = {
            "public": {
                "ingress_cidrs": ["0.0.0.0/0"],
                "protocol": "HTTP",
                "deletion_protection": False,
                "access_logs": draw(st.booleans()),
            }
        }
    return {"owner": "team", "default_environment": ENV, "environments": {ENV: env}}


@settings(max_examples=6, phases=[Phase.explicit, Phase.generate], **SETTINGS)  # type: ignore[arg-type]
@given(config=valid_configs())
def test_random_valid_configurations_synthesize(config: dict[str, Any]) -> None:
    """Synthesis (built-in CloudFormation validation and cdk-nag, as build_app sets them up)
    costs seconds: few examples, no shrinking."""
    from stacks.app import build_app

    load_config(config)
    saved = os.environ.pop("CDK_CONTEXT_JSON", None)
    try:
        with tempfile.TemporaryDirectory(prefix="ecskit-prop-") as outdir:
            app, stacks = build_app({"ecskit": config, "env": ENV}, outdir=outdir)
            assembly = app.synth()
            names = {s.stack_name for s in assembly.stacks}
            assert names == {s.stack_name for s in stacks.values()}
            for stack in assembly.stacks:
                assert stack.template["Resources"], stack.stack_name
    finally:
        if saved is not None:
            os.environ["CDK_CONTEXT_JSON"] = saved


# --- invalid configurations -------------------------------------------------------------------


def key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a JSON-like tree (list indexes as ints), containers included."""
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            paths += key_paths(value, (*prefix, i))
    return paths


def get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def other_type(value: Any) -> Any:
    """A JSON value of another type, which strict validation rejects wherever ``value`` fit."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "12"
    if isinstance(value, str):
        return 7
    if isinstance(value, list):
        return "a"
    return ["a"]


MUTATIONS = ["wrong_type", "unknown_key", "remove_key", "number", "enum", "cross_field"]
EXTREMES = [-1, 0, 10**9, -(10**9), 0.5, 2**63, None, "", "x" * 300]


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[dict[str, Any], str, tuple[Any, ...], bool]:
    """(config, mutation, path it touched, whether it must be rejected)."""
    config = copy.deepcopy(draw(valid_configs()))
    mutation = draw(st.sampled_from(MUTATIONS))
    paths = key_paths(config)
    if mutation == "wrong_type":
        path = draw(st.sampled_from(paths))
        parent, last = get(config, path[:-1]), path[-1]
        parent[last] = other_type(parent[last])
        # a string key of a free-form map (tags) is the map's own key, not a value: still typed
        return config, mutation, path, True
    if mutation == "unknown_key":
        dicts = [()] + [p for p in paths if isinstance(get(config, p), dict)]
        path = draw(st.sampled_from(dicts))
        target = get(config, path)
        key = draw(st.sampled_from(["colour", "maxAzs", "nat-gateways", "Kind", "x y"]))
        target[key] = draw(st.sampled_from([1, "a", None, {}, []]))
        # every object of the configuration is a model (extra keys forbidden) except the maps
        # keyed by name (environments, services, load_balancers, tags, environment, alarms)
        free = bool(path) and path[-1] in (
            "environments", "services", "load_balancers", "tags", "environment", "secrets",
            "warning", "critical",
        )  # fmt: skip
        return config, mutation, (*path, key), not free
    if mutation == "remove_key":
        path = draw(st.sampled_from(paths))
        parent = get(config, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        return config, mutation, path, False
    if mutation == "number":
        numbers = [p for p in paths if type(get(config, p)) in (int, float)]
        path = draw(st.sampled_from(numbers or paths))
        get(config, path[:-1])[path[-1]] = draw(st.sampled_from(EXTREMES))
        return config, mutation, path, False
    if mutation == "enum":
        strings = [p for p in paths if isinstance(get(config, p), str)]
        path = draw(st.sampled_from(strings))
        value = get(config, path)
        get(config, path[:-1])[path[-1]] = draw(
            st.sampled_from([value.upper() + "!", value + " ", "", value[::-1] + "?"])
        )
        return config, mutation, path, path != ("owner",)  # owner is free text
    # cross_field: break a rule spanning several keys
    env = config["environments"][ENV]
    choice = draw(st.sampled_from(["nat", "azs", "strategy", "default_env", "scaling", "lb"]))
    if choice == "nat":
        env["network"]["nat_gateways"] = env["network"]["max_azs"] + 1
    elif choice == "azs":
        env["availability_zones"] = env["availability_zones"][:1] * 2
    elif choice == "strategy":
        env["cluster"]["default_capacity_provider_strategy"] = [{"provider": "gpu"}]
    elif choice == "default_env":
        config["default_environment"] = "staging"
    elif choice == "scaling":
        env["services"]["w"] = {"kind": "worker", "autoscaling": {"min_tasks": 5, "max_tasks": 2}}
    else:
        env.setdefault("load_balancers", {})["spare"] = {"internet_facing": False}
    return config, mutation, (choice,), True


def exists(raw: Any, parts: list[str]) -> bool:
    node = raw
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


@settings(max_examples=200, **SETTINGS)  # type: ignore[arg-type]
@given(case=mutated_configs())
def test_random_invalid_configurations_fail_with_clear_problems(
    case: tuple[dict[str, Any], str, tuple[Any, ...], bool],
) -> None:
    config, mutation, path, must_fail = case
    raw = json.loads(json.dumps(config))  # what the CDK CLI passes: plain JSON
    problems = problems_of(raw)  # any other exception fails the test
    event(f"{mutation}: {'accepted' if problems is None else 'rejected'}")
    if problems is None:
        assert not must_fail, f"{mutation} at {path} was accepted"
        return
    assert problems, "ConfigError without problems"
    for problem in problems:
        parts = problem.path.split(".") if problem.path else []
        # the problem's key exists in the input, or it is a key to add to an existing object
        assert exists(raw, parts) or exists(raw, parts[:-1]), (mutation, path, str(problem))
        line = str(problem)
        assert line == f"ecskit.{problem.path}: {problem.message}", line
        assert "\n" not in line, line
        assert problem.message.strip(), line
        assert "Traceback" not in line, line
        assert "jsii" not in line, line
    if mutation in ("wrong_type", "unknown_key"):  # reported at the key that was changed
        changed = ".".join(str(part) for part in path)
        paths = [p.path for p in problems]
        assert any(p == changed or p.startswith(f"{changed}.") for p in paths), (changed, paths)


def problems_of(raw: dict[str, Any]) -> list[Problem] | None:
    """The problems ``load_config`` reports (None when the configuration is valid)."""
    try:
        load_config(raw)
    except ConfigError as exc:
        return exc.problems
    return None


def test_property_tests_write_nothing_into_the_repo() -> None:
    """No example database (``database=None``); hypothesis' caches go to the temp dir."""
    assert SETTINGS["database"] is None
    home = storage_directory(intent_to_write=False).home_directory.resolve()
    assert not home.is_relative_to(Path(__file__).resolve().parents[1]), home
