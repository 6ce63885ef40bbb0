"""Synth time of the app against the floor of an empty CDK app, measured side by side.

Both run as fresh Python processes with the same interpreter, Node (node_modules/.bin first),
feature flags and built-in CloudFormation validation, writing to a temporary directory:

* ``empty``:    an App with one near-empty Stack (jsii boot + aws-cdk-lib load + synth);
* ``platform``: ``python app.py`` for the environment without its services (Network + Platform
  stacks: the environment's ``services`` emptied through the context, as ``-c`` would);
* ``app``:      ``python app.py`` for the environment, all its stacks.

Runs alternate (empty, app, empty, app, ...) so machine noise hits both alike; prints each
median and spread, and the ratios to ``empty`` (goal for the platform stacks: <= 1.5).
Usage: ``python bench/synth.py [--runs N] [--env NAME]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EMPTY_APP = """
import json, sys
import aws_cdk as cdk
flags = json.load(open(sys.argv[1]))["context"].items()
context = {k: v for k, v in flags if k.startswith("@aws-cdk")}
app = cdk.App(context=context, outdir=sys.argv[2])
stack = cdk.Stack(app, "Empty")
cdk.CfnWaitConditionHandle(stack, "Placeholder")  # a template needs one resource to be valid
app.synth()
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default: 5)")
    parser.add_argument("--env", default=None, help="environment (default: cdk.json's default)")
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="turn off CDK's built-in CloudFormation validation in all three (CDK_VALIDATION=false)"
        " to see how much of the time it takes (default: on, as `cdk synth` runs it)",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    }
    if args.env:
        env["CDK_CONTEXT_JSON"] = json.dumps({"env": args.env})
    if args.no_validation:
        env["CDK_VALIDATION"] = "false"
    config = json.loads((ROOT / "cdk.json").read_text())["context"]["ecskit"]
    env_name = args.env or config["default_environment"]
    environment = config["environments"][env_name]
    environment["services"] = {}
    environment.pop("load_balancers", None)  # shared ALBs exist only for the services
    platform_context = json.dumps({"env": env_name, "ecskit": config})
    results: dict[str, list[float]] = {"empty": [], "platform": [], "app": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = {name: str(Path(tmp) / f"{name}{i}") for name in results}
            results["empty"].append(
                timed([sys.executable, "-c", EMPTY_APP, str(ROOT / "cdk.json"), out["empty"]], env)
            )
            results["platform"].append(
                timed(
                    [sys.executable, "app.py"],
                    {**env, "CDK_OUTDIR": out["platform"], "CDK_CONTEXT_JSON": platform_context},
                )
            )
            results["app"].append(
                timed([sys.executable, "app.py"], {**env, "CDK_OUTDIR": out["app"]})
            )
            stacks = {
                name: sorted(
                    p.name.removesuffix(".template.json")
                    for p in Path(out[name]).glob("*.template.json")
                )
                for name in ("platform", "app")
            }
    empty = statistics.median(results["empty"])
    validation = "off" if args.no_validation else "on"
    print(
        f"synth benchmark ({env_name}), {args.runs} alternating runs each, "
        f"{os.cpu_count()} CPUs, built-in CloudFormation validation {validation}"
    )
    for name, values in results.items():
        listed = f"  [{', '.join(stacks[name])}]" if name in stacks else ""
        print(
            f"  {name:8}  median {statistics.median(values):6.2f} s"
            f"  (min {min(values):.2f}, max {max(values):.2f}){listed}"
        )
    for name in ("platform", "app"):
        ratio = statistics.median(results[name]) / empty
        goal = "  (goal <= 1.5)" if name == "platform" else ""
        print(f"  ratio {name}/empty: {ratio:.2f}{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
