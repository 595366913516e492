#!/usr/bin/env python3
"""The local Kubernetes cluster's command line (build, up, down, status, env): see the package
tools/k8s/localcluster, which this runs with the system python3 (standard library only)."""

import sys

from localcluster.cli import main

if __name__ == "__main__":
    sys.exit(main())
