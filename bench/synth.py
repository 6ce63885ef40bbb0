"""Synth time of the app against the floor of an empty CDK app, measured side by side.

Both run as fresh Python processes with the same interpreter, Node (node_modules/.bin first),
feature flags and built-in CloudFormation validation, writing to a temporary directory:

* ``app``:   ``python app.py`` for the default environment (all its stacks);
* ``empty``: an App with one near-empty Stack (jsii boot + aws-cdk-lib load + synth).

Runs alternate (empty, app, empty, app, ...) so machine noise hits both alike; prints each
median, the ratio app/empty (goal for the platform stacks: <= 1.5) and the spread.
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
    args = parser.parse_args()

    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    }
    if args.env:
        env["CDK_CONTEXT_JSON"] = json.dumps({"env": args.env})
    results: dict[str, list[float]] = {"empty": [], "app": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out_empty = str(Path(tmp) / f"empty{i}")
            out_app = str(Path(tmp) / f"app{i}")
            results["empty"].append(
                timed([sys.executable, "-c", EMPTY_APP, str(ROOT / "cdk.json"), out_empty], env)
            )
            results["app"].append(timed([sys.executable, "app.py"], {**env, "CDK_OUTDIR": out_app}))
            stacks = sorted(p.name for p in Path(out_app).glob("*.template.json"))
    empty = statistics.median(results["empty"])
    app = statistics.median(results["app"])
    print(f"synth benchmark, {args.runs} alternating runs each, on {os.cpu_count()} CPUs")
    print(f"  stacks in app: {', '.join(s.removesuffix('.template.json') for s in stacks)}")
    for name, values in results.items():
        print(
            f"  {name:5}  median {statistics.median(values):6.2f} s"
            f"  (min {min(values):.2f}, max {max(values):.2f})"
        )
    print(f"  ratio app/empty: {app / empty:.2f} (goal <= 1.5 for the platform stacks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
