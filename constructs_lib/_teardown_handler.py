"""Inline Lambda handler (CloudFormation custom resource) that lets a stack with an ECS capacity
provider be deleted: managed termination protection marks every instance protected from scale-in,
so CloudFormation's delete of the Auto Scaling group waits for ever (aws-cdk issue 18179).

On Delete it turns off scale-in protection for the group and its instances and removes ECS's
managed-draining lifecycle hook (the capacity provider that served it is going away too).
Create/Update do nothing. It always answers CloudFormation, so a failure here never blocks
the stack. Kept under 4 KiB: it is deployed inline (``ZipFile``), no asset.
Standard library and boto3 only.
"""

import json
import urllib.request
from typing import Any

import boto3


def _answer(event: dict[str, Any], status: str, reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or "see CloudWatch Logs",
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"content-type": "", "content-length": str(len(body))},
    )
    urllib.request.urlopen(request, timeout=30).close()


def release(group: str, client: Any) -> int:
    found = client.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    groups = found["AutoScalingGroups"]
    if not groups:
        return 0
    client.update_auto_scaling_group(
        AutoScalingGroupName=group, NewInstancesProtectedFromScaleIn=False
    )
    hooks = client.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    for hook in hooks:
        if hook["LifecycleHookName"].startswith("ecs-managed-draining-termination-hook"):
            client.delete_lifecycle_hook(
                AutoScalingGroupName=group, LifecycleHookName=hook["LifecycleHookName"]
            )
    ids = [i["InstanceId"] for i in groups[0]["Instances"] if i.get("ProtectedFromScaleIn")]
    for start in range(0, len(ids), 50):
        client.set_instance_protection(
            AutoScalingGroupName=group,
            InstanceIds=ids[start : start + 50],
            ProtectedFromScaleIn=False,
        )
    return len(ids)


def handler(event: dict[str, Any], _context: Any, client: Any = None) -> None:
    status, reason = "SUCCESS", ""
    try:
        if event["RequestType"] == "Delete":
            group = event["ResourceProperties"]["AutoScalingGroupName"]
            count = release(group, client or boto3.client("autoscaling"))
            reason = f"released {count} instances of {group}"
    except Exception as exc:
        reason = f"teardown helper failed (stack deletion continues): {exc}"
    print(reason)
    _answer(event, status, reason)
