#!/usr/bin/env python3
"""The local Kubernetes cluster's command line (build, up, down, status, env): see the package
tools/k8s/localcluster, which this runs with the system python3 (standard library only)."""

import sys
from pathlib import Path

# The package beside this file, also when the script's directory is not on the path
# (python3 -I or -P, PYTHONSAFEPATH).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from localcluster.cli import main

if __name__ == "__main__":
    sys.exit(main())
