"""Unit tests of tools/k8s/localcluster: the package is not installed (the system python3
runs it as tools/k8s/cluster.py's sibling), so its directory goes on the path here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
