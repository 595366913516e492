import sys
from pathlib import Path

# The chart's checks are scripts beside the chart, not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
