"""Issue 4: autoscaling, alarms, the closed loop, ECS event rules, the dashboard; the rendered
scaling and alarm resources applied to moto (application-autoscaling, cloudwatch) and read back."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template

from constructs_lib import EcskitValidationError, ScheduledCapacity, TaskScaling, Threshold
from constructs_lib.alarms import merge_thresholds

SVC = "ecskit-dev-Services"


def res(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(type_)
    return found


def by_path(template: Template, type_: str, part: str) -> dict[str, Any]:
    prefix = part.strip("/").split("/")[0]
    matches = [
        r
        for k, r in res(template, type_).items()
        if part in r.get("Metadata", {}).get("aws:cdk:path", "")
        or ("Metadata" not in r and k.startswith(prefix))
    ]
    assert len(matches) == 1, (type_, part, len(matches))
    props: dict[str, Any] = matches[0]["Properties"]
    return props


def alarms_by_name(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in res(template, "AWS::CloudWatch::Alarm").values()
        if "AlarmName" in r["Properties"]
    }


# --- scaling ------------------------------------------------------------------------------------


REPLICA_SCALING = {
    "dev": {"web": (1, 4), "api": (1, 3), "tcp": (1, 2), "worker": (0, 4)},
    "prod": {"web": (2, 10), "api": (2, 6), "tcp": (2, 6), "worker": (1, 4)},
}


def assert_replica_services_scale(templates: dict[str, Template], env: str) -> None:
    t = templates[f"ecskit-{env}-Services"]
    for name, (lo, hi) in REPLICA_SCALING[env].items():
        target = by_path(t, "AWS::ApplicationAutoScaling::ScalableTarget", f"/{name}/")
        assert (target["MinCapacity"], target["MaxCapacity"]) == (lo, hi), (env, name)
        assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    # autoscaling owns the count: no DesiredCount anywhere
    for service in res(t, "AWS::ECS::Service").values():
        assert "DesiredCount" not in service["Properties"]


# Split by environment: a test that needs both apps makes one worker synthesize both.
def test_every_dev_replica_service_scales(dev_templates: dict[str, Template]) -> None:
    assert_replica_services_scale(dev_templates, "dev")


def test_every_prod_replica_service_scales(prod_templates: dict[str, Template]) -> None:
    assert_replica_services_scale(prod_templates, "prod")


def test_dev_target_tracking_policies(dev_templates: dict[str, Template]) -> None:
    t = dev_templates[SVC]
    cpu = by_path(
        t, "AWS::ApplicationAutoScaling::ScalingPolicy", "/web/Service/TaskCount/Target/CpuScaling"
    )
    spec = cpu["TargetTrackingScalingPolicyConfiguration"]
    assert cpu["PolicyType"] == "TargetTrackingScaling"
    assert spec["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
    assert (spec["TargetValue"], spec["ScaleInCooldown"], spec["ScaleOutCooldown"]) == (60, 300, 60)
    req = by_path(
        t,
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "/web/Service/TaskCount/Target/RequestCountScaling",
    )
    spec = req["TargetTrackingScalingPolicyConfiguration"]
    assert (
        spec["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    )
    assert "ResourceLabel" in spec["PredefinedMetricSpecification"]
    assert spec["TargetValue"] == 500
    mem = by_path(
        t,
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "/api/Service/TaskCount/Target/MemoryScaling",
    )
    assert mem["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 80


def test_dev_worker_steps_on_queue_backlog_per_task(dev_templates: dict[str, Template]) -> None:
    t = dev_templates[SVC]
    policies = [
        r["Properties"]
        for r in res(t, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if "/worker/" in r["Metadata"]["aws:cdk:path"]
    ]
    assert all(p["PolicyType"] == "StepScaling" for p in policies)  # no CPU tracking (null)
    steps = sorted(
        (
            a["ScalingAdjustment"],
            a.get("MetricIntervalLowerBound"),
            a.get("MetricIntervalUpperBound"),
        )
        for p in policies
        for a in p["StepScalingPolicyConfiguration"]["StepAdjustments"]
    )
    assert [s[0] for s in steps] == [-1, 1, 3]
    step_alarms = [
        r["Properties"]
        for r in res(t, "AWS::CloudWatch::Alarm").values()
        if "QueueBacklogScaling" in r["Metadata"]["aws:cdk:path"]
    ]
    assert {a["ComparisonOperator"] for a in step_alarms} == {
        "LessThanOrEqualToThreshold",
        "GreaterThanOrEqualToThreshold",
    }
    assert {a["Threshold"] for a in step_alarms} == {0, 10}
    expression = next(m for m in step_alarms[0]["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "IF(running > 0, visible / running, visible)"
    stats = {
        m["Id"]: m["MetricStat"]["Metric"] for m in step_alarms[0]["Metrics"] if "MetricStat" in m
    }
    assert stats["visible"]["Namespace"] == "AWS/SQS"
    assert stats["visible"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (stats["running"]["Namespace"], stats["running"]["MetricName"]) == (
        "ECS/ContainerInsights",
        "RunningTaskCount",
    )


def test_dev_scheduled_business_hours(dev_templates: dict[str, Template]) -> None:
    target = by_path(dev_templates[SVC], "AWS::ApplicationAutoScaling::ScalableTarget", "/web/")
    actions = {a["ScheduledActionName"]: a for a in target["ScheduledActions"]}
    business = next(a for n, a in actions.items() if "business-hours" in n)
    assert business["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert business["Timezone"] == "Europe/Paris"
    assert business["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 4}


# --- alarms and the closed loop -----------------------------------------------------------------


def test_dev_alarms_names_metrics_and_actions(dev_templates: dict[str, Template]) -> None:
    t = dev_templates[SVC]
    alarms = alarms_by_name(t)
    topic_ref = {"Ref": next(k for k in res(t, "AWS::SNS::Topic"))}
    for name, props in alarms.items():
        assert re.fullmatch(r"ecskit-dev-(web|api|tcp|worker)-[a-z0-9-]+-(warning|critical)", name)
        assert props["AlarmActions"] == [topic_ref], name
        assert props["DatapointsToAlarm"] <= props["EvaluationPeriods"]
    cpu = alarms["ecskit-dev-web-cpu-warning"]
    assert (cpu["Namespace"], cpu["MetricName"], cpu["Statistic"], cpu["Period"]) == (
        "AWS/ECS",
        "CPUUtilization",
        "Average",
        60,
    )
    assert {d["Name"] for d in cpu["Dimensions"]} == {"ClusterName", "ServiceName"}
    assert (
        cpu["Threshold"],
        cpu["ComparisonOperator"],
        cpu["EvaluationPeriods"],
        cpu["DatapointsToAlarm"],
        cpu["TreatMissingData"],
    ) == (80, "GreaterThanThreshold", 5, 5, "missing")
    rate = alarms["ecskit-dev-web-target-5xx-rate-critical"]
    expr = next(m for m in rate["Metrics"] if m.get("ReturnData", True) and "Expression" in m)
    assert "100 * (FILL(errors0, 0)) / (FILL(requests0, 0))" in expr["Expression"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"] if "MetricStat" in m}
    assert names == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    assert (rate["Threshold"], rate["TreatMissingData"], rate["OKActions"]) == (
        5,
        "notBreaching",
        [topic_ref],
    )
    latency = alarms["ecskit-dev-web-p99-latency-warning"]
    (stat,) = [m["MetricStat"] for m in latency["Metrics"]]
    assert (stat["Metric"]["MetricName"], stat["Stat"], latency["Threshold"]) == (
        "TargetResponseTime",
        "p99",
        1.5,
    )
    assert alarms["ecskit-dev-api-target-5xx-rate-critical"]["EvaluationPeriods"] == 5
    assert alarms["ecskit-dev-web-elb-5xx-warning"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
    assert (
        alarms["ecskit-dev-web-rejected-connections-warning"]["MetricName"]
        == "RejectedConnectionCount"
    )
    assert alarms["ecskit-dev-tcp-unhealthy-hosts-critical"]["Namespace"] == "AWS/NetworkELB"
    resets = alarms["ecskit-dev-tcp-tcp-resets-warning"]
    assert resets["MetricName"] == "TCP_Target_Reset_Count"
    # A load balancer metric: with a TargetGroup dimension there would be no data at all.
    assert [d["Name"] for d in resets["Dimensions"]] == ["LoadBalancer"]
    unhealthy = alarms["ecskit-dev-tcp-unhealthy-hosts-critical"]
    assert [d["Name"] for d in unhealthy["Dimensions"]] == ["LoadBalancer", "TargetGroup"]
    age = alarms["ecskit-dev-worker-queue-age-warning"]
    assert (age["Namespace"], age["MetricName"], age["Statistic"], age["Threshold"]) == (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        300,
    )
    dlq = alarms["ecskit-dev-worker-dlq-not-empty-critical"]
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    running = alarms["ecskit-dev-web-running-tasks-critical"]
    assert running["ComparisonOperator"] == "LessThanThreshold"
    assert {
        m["MetricStat"]["Metric"]["MetricName"] for m in running["Metrics"] if "MetricStat" in m
    } == {"RunningTaskCount", "DesiredTaskCount"}
    assert "ecskit-dev-worker-cpu-warning" not in alarms  # switched off in cdk.json


def test_closed_loop_deployment_alarms(dev_templates: dict[str, Template]) -> None:
    t = dev_templates[SVC]
    for _logical_id, service in res(t, "AWS::ECS::Service").items():
        path = service["Metadata"]["aws:cdk:path"]
        config = service["Properties"]["DeploymentConfiguration"]
        if "/web/" in path or "/api/" in path:
            svc = path.split("/")[1]
            assert config["Alarms"] == {
                "AlarmNames": [
                    f"ecskit-dev-{svc}-{w}-critical"
                    for w in ("running-tasks", "target-5xx-rate", "unhealthy-hosts")
                ],
                "Enable": True,
                "Rollback": True,
            }
            alarms = {
                r["Properties"]["AlarmName"]: k
                for k, r in res(t, "AWS::CloudWatch::Alarm").items()
                if "AlarmName" in r["Properties"]
            }
            assert alarms[f"ecskit-dev-{svc}-target-5xx-rate-critical"] in service["DependsOn"]
        else:  # off by default for network and worker services
            assert "Alarms" not in config, path


def test_prod_network_service_opts_into_rollback_on_alarm(
    prod_templates: dict[str, Template],
) -> None:
    prod_tcp = by_path(prod_templates["ecskit-prod-Services"], "AWS::ECS::Service", "/tcp/")
    assert prod_tcp["DeploymentConfiguration"]["Alarms"]["Rollback"] is True


def test_notification_topic_and_ecs_event_rules(dev_templates: dict[str, Template]) -> None:
    t = dev_templates[SVC]
    ((topic_id, topic),) = res(t, "AWS::SNS::Topic").items()
    assert "KmsMasterKeyId" in topic["Properties"]
    assert [s["Properties"]["Endpoint"] for s in res(t, "AWS::SNS::Subscription").values()] == [
        "dev-alerts@example.com"
    ]
    rules = {
        r["Metadata"]["aws:cdk:path"].split("/")[-2]: r["Properties"]
        for r in res(t, "AWS::Events::Rule").values()
    }
    deployment = rules["DeploymentFailed"]["EventPattern"]
    assert deployment["source"] == ["aws.ecs"]
    assert deployment["detail-type"] == ["ECS Deployment State Change"]
    assert deployment["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}
    assert "prefix" in deployment["resources"][0]
    task = rules["TaskStoppedWithError"]["EventPattern"]
    assert task["detail-type"] == ["ECS Task State Change"]
    assert task["detail"]["lastStatus"] == ["STOPPED"]
    assert task["detail"]["$or"] == [
        {"stopCode": ["TaskFailedToStart"]},
        {"containers": {"exitCode": [{"anything-but": 0}]}},
    ]
    for rule in rules.values():
        assert rule["Targets"][0]["Arn"] == {"Ref": topic_id}
    (policy,) = res(t, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    events_statements = [
        s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(events_statements) == 2
    assert all("aws:SourceArn" in s["Condition"]["ArnEquals"] for s in events_statements)


def test_dashboard_widget_set(dev_templates: dict[str, Template]) -> None:
    (dashboard,) = res(dev_templates[SVC], "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "ecskit-dev"
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    widgets = json.loads(body)["widgets"]
    titles = [w["properties"].get("title") or w["properties"].get("markdown") for w in widgets]
    assert titles[0] == "Alarms"
    assert widgets[0]["type"] == "alarm"
    for name in ("web", "api", "tcp", "worker"):
        assert f"### {name}" in titles
    assert titles.count("Requests") == 2
    assert titles.count("Latency p99 (s)") == 2
    assert titles.count("Tasks: running vs desired (scaling)") == 4
    assert titles.count("Backlog per task") == 1
    assert titles.count("TCP resets") == 1


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scaling", "message"),
    [
        (TaskScaling(min_tasks=3, max_tasks=2), r"min_tasks must be <= max_tasks \(2\), got 3"),
        (TaskScaling(min_tasks=1, max_tasks=200), r"max_tasks must be between 1 and 100, got 200"),
        (
            TaskScaling(min_tasks=1, max_tasks=2, target_cpu_percent=120),
            r"target_cpu_percent must be a percentage between 1 and 100",
        ),
        (
            TaskScaling(
                min_tasks=1,
                max_tasks=2,
                schedules=(ScheduledCapacity("a", "cron(0 25 * * ? *)", 1, 2),),
            ),
            r"schedule must be a cron hour field between 0 and 23",
        ),
        (
            TaskScaling(
                min_tasks=1, max_tasks=2, schedules=(ScheduledCapacity("a", "rate(1 day)", 1, 2),)
            ),
            r"must be a six-field 'cron",
        ),
        (
            TaskScaling(
                min_tasks=1,
                max_tasks=2,
                schedules=(ScheduledCapacity("a", "cron(0 8 ? * MON *)", 1, 2, "Mars/Olympus"),),
            ),
            r"time_zone must be an IANA time zone",
        ),
        (
            TaskScaling(min_tasks=1, max_tasks=2, scale_in_cooldown=Duration.millis(1500)),
            r"scale_in_cooldown must be a whole number of seconds, got 1\.5",
        ),
    ],
)
def test_bad_scaling_is_a_clear_error(scaling: TaskScaling, message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        scaling.validate("WebService.scaling")


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"warning": {"max_cpu_percnt": 80}}, r"must be one of the alarm thresholds"),
        (
            {"critical": {"max_5xx_percent": 150}},
            r"max_5xx_percent must be a percentage between 0 and 100, got 150",
        ),
        (
            {"warning": {"max_cpu_percent": Threshold(80, evaluation_periods=2, datapoints=3)}},
            r"evaluation_periods must be >= datapoints \(3\)",
        ),
        ({"info": {}}, r"must be a severity"),
    ],
)
def test_bad_thresholds_are_clear_errors(thresholds: Any, message: str) -> None:
    with pytest.raises(EcskitValidationError, match=message):
        merge_thresholds("ServiceAlarms.thresholds", thresholds)


# --- moto: the APIs accept the rendered values ----------------------------------------------------


def _fake(value: Any) -> Any:
    """Resolve CloudFormation intrinsics to plausible literals."""
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(_fake(p)) for p in parts)
        if (
            "Ref" in value
            or "Fn::GetAtt" in value
            or "Fn::GetStackOutput" in value
            or "Fn::ImportValue" in value
        ):
            return "app/ecskit-dev/0123456789abcdef"
        if "Fn::Select" in value:
            return "ecskit-dev"
        return {k: _fake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fake(v) for v in value]
    return value


def _metric_query(q: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": q["Id"], "ReturnData": q.get("ReturnData", True)}
    if "Expression" in q:
        out["Expression"] = q["Expression"]
        if "Label" in q:
            out["Label"] = q["Label"]
    else:
        stat = q["MetricStat"]
        out["MetricStat"] = {
            "Metric": stat["Metric"],
            "Period": stat["Period"],
            "Stat": stat["Stat"],
        }
    return out


def test_dev_scaling_and_alarms_apply_to_moto(dev_templates: dict[str, Template]) -> None:
    import boto3
    from moto import mock_aws

    t = dev_templates[SVC].to_json()["Resources"]
    with mock_aws():
        aas = boto3.client("application-autoscaling", region_name="eu-west-1")
        cw = boto3.client("cloudwatch", region_name="eu-west-1")
        ecs = boto3.client("ecs", region_name="eu-west-1")
        ecs.create_cluster(clusterName="ecskit-dev")
        targets: dict[str, str] = {}
        for logical_id, r in t.items():
            if r["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
                continue
            p = _fake(r["Properties"])
            ecs.create_service(cluster="ecskit-dev", serviceName=logical_id, desiredCount=1)
            resource_id = f"service/ecskit-dev/{logical_id}"
            targets[logical_id] = resource_id
            aas.register_scalable_target(
                ServiceNamespace=p["ServiceNamespace"],
                ResourceId=resource_id,
                ScalableDimension=p["ScalableDimension"],
                MinCapacity=p["MinCapacity"],
                MaxCapacity=p["MaxCapacity"],
            )
            for action in p.get("ScheduledActions", []):
                aas.put_scheduled_action(
                    ServiceNamespace=p["ServiceNamespace"],
                    ResourceId=resource_id,
                    ScalableDimension=p["ScalableDimension"],
                    ScheduledActionName=action["ScheduledActionName"],
                    Schedule=action["Schedule"],
                    Timezone=action.get("Timezone", "UTC"),
                    ScalableTargetAction=action["ScalableTargetAction"],
                )
        policies = 0
        for r in t.values():
            if r["Type"] != "AWS::ApplicationAutoScaling::ScalingPolicy":
                continue
            p = _fake(r["Properties"])
            target_id = r["Properties"]["ScalingTargetId"]["Ref"]
            kwargs: dict[str, Any] = {
                "PolicyName": p["PolicyName"],
                "PolicyType": p["PolicyType"],
                "ServiceNamespace": "ecs",
                "ResourceId": targets[target_id],
                "ScalableDimension": "ecs:service:DesiredCount",
            }
            if p["PolicyType"] == "TargetTrackingScaling":
                kwargs["TargetTrackingScalingPolicyConfiguration"] = p[
                    "TargetTrackingScalingPolicyConfiguration"
                ]
            else:
                kwargs["StepScalingPolicyConfiguration"] = p["StepScalingPolicyConfiguration"]
            aas.put_scaling_policy(**kwargs)
            policies += 1
        alarms = 0
        for logical_id, r in t.items():
            if r["Type"] != "AWS::CloudWatch::Alarm":
                continue
            p = _fake(r["Properties"])
            kwargs = {
                k: p[k] for k in ("ComparisonOperator", "EvaluationPeriods", "Threshold") if k in p
            }
            kwargs["AlarmName"] = p.get("AlarmName", logical_id)
            kwargs["AlarmActions"] = [
                "arn:aws:sns:eu-west-1:123456789012:topic" for _ in p.get("AlarmActions", [])
            ]
            for key in (
                "DatapointsToAlarm",
                "TreatMissingData",
                "Namespace",
                "MetricName",
                "Statistic",
                "ExtendedStatistic",
                "Period",
                "AlarmDescription",
            ):
                if key in p:
                    kwargs[key] = p[key]
            if "Dimensions" in p:
                kwargs["Dimensions"] = p["Dimensions"]
            if "Metrics" in p:
                kwargs["Metrics"] = [_metric_query(q) for q in p["Metrics"]]
            cw.put_metric_alarm(**kwargs)
            alarms += 1
        assert len(aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]) == 4
        read_policies = aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
        assert len(read_policies) == policies >= 6
        scheduled = aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"]
        assert {a["Schedule"] for a in scheduled} == {
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 19 ? * MON-FRI *)",
        }
        read = {
            a["AlarmName"]: a
            for a in cw.describe_alarms(MaxRecords=100)["MetricAlarms"]
            if not a["AlarmName"].startswith("TargetTracking-")  # moto's own, for the policies
        }
        assert len(read) == alarms
        cpu = read["ecskit-dev-web-cpu-warning"]
        assert (
            cpu["Threshold"],
            cpu["ComparisonOperator"],
            cpu["EvaluationPeriods"],
            cpu["DatapointsToAlarm"],
            cpu["TreatMissingData"],
        ) == (80.0, "GreaterThanThreshold", 5, 5, "missing")
        rate = read["ecskit-dev-web-target-5xx-rate-critical"]
        assert any("Expression" in m for m in rate["Metrics"])
