#!/usr/bin/env python3
"""The ecskit CDK app: ``cdk synth`` (default environment) or ``cdk synth -c env=prod``."""

import sys

from stacks.app import main

if __name__ == "__main__":
    sys.exit(main())
