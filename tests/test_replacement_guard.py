"""The replacement guard (constructs_lib.replacement_guard): the committed baselines of dev and
prod, a throwaway app where a refactor renames a construct ID, and the comparison rules."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.errors import EcskitValidationError
from constructs_lib.replacement_guard import (
    GUARDED_TYPES,
    REMOVED,
    Acknowledgement,
    check,
    compare,
    main,
    parse_acknowledgements,
    snapshot,
    write_baselines,
)
from tests.conftest import ROOT, unit_app

BASELINES = ROOT / "replacement-guard"
ACK_FILE = BASELINES / "ack.json"


def _check_environment(environment: str, templates: dict[str, Any]) -> None:
    from constructs_lib.replacement_guard import load_acknowledgements

    report = check(
        environment,
        {name: t.to_json() for name, t in templates.items()},
        BASELINES,
        load_acknowledgements(ACK_FILE),
    )
    # New guarded resources (report.untracked) do not fail: a renamed resource is new too, and an
    # acknowledged rename must pass before `make guard-update` records it.
    assert report.ok, report.render()


def test_dev_matches_the_committed_baseline(dev_templates: dict[str, Any]) -> None:
    _check_environment("dev", dev_templates)


def test_prod_matches_the_committed_baseline(prod_templates: dict[str, Any]) -> None:
    _check_environment("prod", prod_templates)


def test_baselines_guard_the_resources_that_hurt() -> None:
    """The committed baselines are not empty shells: each kind the issue names is in there."""
    for environment in ("dev", "prod"):
        types = {
            resource["type"]
            for path in (BASELINES / environment).glob("*.json")
            for resource in json.loads(path.read_text()).values()
        }
        assert types >= set(GUARDED_TYPES), (environment, set(GUARDED_TYPES) - types)


def test_acknowledgement_file_is_valid() -> None:
    parse_acknowledgements(json.loads(ACK_FILE.read_text()), source=str(ACK_FILE))


# The table against the CloudFormation registry schemas bundled with cfn-lint: every
# createOnlyProperties path is guarded (nested ones via their guarded parent) and nothing else.
def _registry_schema(resource_type: str) -> dict[str, Any]:
    schemas = files("cfnlint.data.schemas")
    provider = json.loads(schemas.joinpath("providers", "us-east-1.json").read_text())
    return json.loads(schemas.joinpath("resources", f"{provider[resource_type]}.json").read_text())  # type: ignore[no-any-return]


def _paths(schema: dict[str, Any], key: str) -> set[str]:
    return {p.removeprefix("/properties/") for p in schema.get(key, [])}


@pytest.mark.parametrize("resource_type", sorted(GUARDED_TYPES))
def test_table_matches_the_cloudformation_schema(resource_type: str) -> None:
    schema = _registry_schema(resource_type)
    spec = GUARDED_TYPES[resource_type]

    def covered(paths: set[str], listed: tuple[str, ...]) -> set[str]:
        return {p for p in paths if not any(p == g or p.startswith(g + "/") for g in listed)}

    assert not covered(_paths(schema, "createOnlyProperties"), spec.replaces_on)
    assert not covered(_paths(schema, "conditionalCreateOnlyProperties"), spec.may_replace_on)
    assert set(spec.replaces_on) <= _paths(schema, "createOnlyProperties")
    assert set(spec.may_replace_on) <= _paths(schema, "conditionalCreateOnlyProperties")


# A throwaway app: "Before" is what is deployed, "After" the refactor: the queue's construct ID
# is renamed ("Jobs" -> "JobQueue") and the target group's port changes (80 -> 8080).
def _service_stack(app: Any, name: str, *, queue_id: str, port: int) -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_sqs as sqs

    stack = Stack(app, name)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    sqs.Queue(stack, queue_id)
    elbv2.ApplicationTargetGroup(stack, "Web", vpc=vpc, port=port, target_type=elbv2.TargetType.IP)


@pytest.fixture(scope="module")
def refactor(synth_stacks: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    app = unit_app()
    _service_stack(app, "Before", queue_id="Jobs", port=80)
    _service_stack(app, "After", queue_id="JobQueue", port=8080)
    templates = synth_stacks(app)
    return snapshot(templates["Before"].to_json()), snapshot(templates["After"].to_json())


def _ids(baseline: dict[str, Any], resource_type: str) -> list[str]:
    return [lid for lid, r in baseline.items() if r["type"] == resource_type]


def test_guard_catches_a_renamed_construct_and_a_port_change(
    refactor: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = refactor
    (queue,) = _ids(before, "AWS::SQS::Queue")
    (target_group,) = _ids(before, "AWS::ElasticLoadBalancingV2::TargetGroup")
    findings = compare(before, after, environment="unit", stack="Svc")
    assert [(f.logical_id, f.property) for f in findings] == sorted(
        [(queue, REMOVED), (target_group, "Port")]
    )
    messages = "\n".join(f.message for f in findings)
    assert f"unit/Svc: {queue} (AWS::SQS::Queue) is removed or renamed" in messages
    assert "messages in the old queue are lost" in messages
    assert (
        f"unit/Svc: {target_group} (AWS::ElasticLoadBalancingV2::TargetGroup) would be "
        "replaced: Port changes 80 -> 8080" in messages
    )
    assert all(f.acknowledgement is None for f in findings)


def test_acknowledgement_lets_exactly_that_replacement_through(
    refactor: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = refactor
    (queue,) = _ids(before, "AWS::SQS::Queue")
    acks = parse_acknowledgements(
        {
            "acknowledged": [
                {
                    "environment": "unit",
                    "stack": "Svc",
                    "logical_id": queue,
                    "property": REMOVED,
                    "reason": "queue drained and retired in CHANGE-42",
                }
            ]
        }
    )
    findings = compare(before, after, acks, environment="unit", stack="Svc")
    blocking = [f for f in findings if f.acknowledgement is None]
    assert [f.property for f in blocking] == ["Port"]
    (passed,) = [f for f in findings if f.acknowledgement is not None]
    assert passed.logical_id == queue
    assert "[acknowledged: queue drained and retired in CHANGE-42]" in passed.message
    # Another environment's entry does not apply.
    other = [Acknowledgement("prod", "Svc", queue, REMOVED, "x")]
    assert all(f.acknowledgement is None for f in compare(before, after, other, stack="Svc"))


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"environment": "dev", "stack": "S", "logical_id": "Q", "property": "removed"},
            r"exactly the keys",
        ),
        (
            {
                "environment": "dev",
                "stack": "S",
                "logical_id": "Q",
                "property": "removed",
                "reason": " ",
            },
            r"non-empty string \(a reason",
        ),
        (
            {
                "environment": "dev",
                "stack": "S",
                "logical_id": "Q",
                "property": "removed",
                "reason": "ok",
                "extra": 1,
            },
            r"exactly the keys",
        ),
    ],
)
def test_acknowledgement_without_a_reason_is_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        parse_acknowledgements({"acknowledged": [entry]})


def test_acknowledgement_file_shape_is_validated() -> None:
    with pytest.raises(EcskitValidationError, match=r'must be an object \{"acknowledged"'):
        parse_acknowledgements([])


# compare/check on small dicts.
def _template(**resources: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"Resources": {lid: {"Type": t, "Properties": p} for lid, (t, p) in resources.items()}}


SUBNET = "AWS::EC2::Subnet"


def test_snapshot_keeps_only_guarded_types_and_replacement_properties() -> None:
    template = _template(
        Sub=(SUBNET, {"CidrBlock": "10.0.0.0/24", "VpcId": {"Ref": "Vpc"}, "Tags": []}),
        Role=("AWS::IAM::Role", {"RoleName": "r"}),
        Cp=(
            "AWS::ECS::CapacityProvider",
            {"AutoScalingGroupProvider": {"AutoScalingGroupArn": {"Ref": "Asg"}, "X": 1}},
        ),
    )
    assert snapshot(template) == {
        "Sub": {"type": SUBNET, "props": {"CidrBlock": '"10.0.0.0/24"', "VpcId": '{"Ref":"Vpc"}'}},
        "Cp": {
            "type": "AWS::ECS::CapacityProvider",
            "props": {"AutoScalingGroupProvider/AutoScalingGroupArn": '{"Ref":"Asg"}'},
        },
    }


def test_compare_reports_token_changes_set_unset_and_type_changes() -> None:
    before = snapshot(
        _template(
            Sub=(SUBNET, {"CidrBlock": "10.0.0.0/24", "VpcId": {"Ref": "Vpc"}}),
            Q=("AWS::SQS::Queue", {}),
            Lg=("AWS::Logs::LogGroup", {"LogGroupName": "app"}),
            Asg=("AWS::AutoScaling::AutoScalingGroup", {"VPCZoneIdentifier": ["a"]}),
        )
    )
    after = snapshot(
        _template(
            Sub=(SUBNET, {"CidrBlock": "10.0.0.0/24", "VpcId": {"Ref": "Vpc2"}, "Tags": [1]}),
            Q=("AWS::SQS::Queue", {"FifoQueue": True}),
            Lg=("AWS::SNS::Topic", {}),
            Asg=("AWS::AutoScaling::AutoScalingGroup", {"VPCZoneIdentifier": ["b"]}),
        )
    )
    findings = {(f.logical_id, f.property): f for f in compare(before, after, stack="S")}
    assert set(findings) == {
        ("Sub", "VpcId"),
        ("Q", "FifoQueue"),
        ("Lg", REMOVED),
        ("Asg", "VPCZoneIdentifier"),
    }
    assert 'VpcId changes {"Ref":"Vpc"} -> {"Ref":"Vpc2"}' in findings["Sub", "VpcId"].message
    assert "FifoQueue changes (unset) -> true" in findings["Q", "FifoQueue"].message
    assert "may be replaced: VPCZoneIdentifier" in findings["Asg", "VPCZoneIdentifier"].message
    assert compare(before, before) == []


def test_check_reports_stale_acknowledgements_new_resources_and_missing_baselines(
    tmp_path: Path,
) -> None:
    deployed = {"Svc": _template(Q=("AWS::SQS::Queue", {"QueueName": "jobs"}))}
    write_baselines("dev", deployed, tmp_path)
    assert json.loads((tmp_path / "dev" / "Svc.json").read_text()) == {
        "Q": {"props": {"QueueName": '"jobs"'}, "type": "AWS::SQS::Queue"}
    }
    stale = Acknowledgement("dev", "Svc", "Q", REMOVED, "was renamed once")
    elsewhere = Acknowledgement("prod", "Svc", "Q", REMOVED, "other environment")
    report = check("dev", deployed, tmp_path, [stale, elsewhere])
    assert not report.ok
    assert report.stale == [stale]
    assert "STALE acknowledgement" in report.render()

    changed = {
        "Svc": _template(
            Q=("AWS::SQS::Queue", {"QueueName": "jobs"}),
            Q2=("AWS::SQS::Queue", {}),
        ),
        "New": _template(Lg=("AWS::Logs::LogGroup", {})),
    }
    report = check("dev", changed, tmp_path)
    assert report.untracked == ["Svc/Q2"]
    assert report.missing_baselines == ["New"]
    assert not report.ok

    report = check("dev", {}, tmp_path)  # the stack is gone: its resources are removed
    assert [(f.stack, f.logical_id, f.property) for f in report.blocking] == [("Svc", "Q", REMOVED)]


def test_cli_update_refuses_unacknowledged_findings_then_check_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def assembly(template: dict[str, Any]) -> Path:
        out = tmp_path / "cdk.out"
        out.mkdir(exist_ok=True)
        (out / "Svc.template.json").write_text(json.dumps(template))
        manifest = {
            "artifacts": {
                "Svc": {
                    "type": "aws:cloudformation:stack",
                    "properties": {"templateFile": "Svc.template.json"},
                }
            }
        }
        (out / "manifest.json").write_text(json.dumps(manifest))
        return out

    opts = ["--env", "dev", "--baselines", str(tmp_path / "b"), "--ack", str(tmp_path / "a.json")]
    out = assembly(_template(Q=("AWS::SQS::Queue", {"QueueName": "jobs"})))
    assert main(["update", str(out), *opts]) == 0
    assert main(["check", str(out), *opts]) == 0

    out = assembly(_template(Q=("AWS::SQS::Queue", {"QueueName": "jobs-v2"})))
    assert main(["check", str(out), *opts]) == 1
    assert main(["update", str(out), *opts]) == 1
    assert 'QueueName changes "jobs" -> "jobs-v2"' in capsys.readouterr().err

    ack = {"environment": "dev", "stack": "Svc", "logical_id": "Q", "property": "QueueName"}
    (tmp_path / "a.json").write_text(json.dumps({"acknowledged": [ack]}))
    assert main(["check", str(out), *opts]) == 1  # no reason: refused
    assert "must have exactly the keys" in capsys.readouterr().err
    (tmp_path / "a.json").write_text(
        json.dumps({"acknowledged": [{**ack, "reason": "rename agreed with consumers"}]})
    )
    assert main(["check", str(out), *opts]) == 0
    assert main(["update", str(out), *opts]) == 0
    assert "now recorded in the baseline, remove from" in capsys.readouterr().out
