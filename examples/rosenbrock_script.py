"""Multi-start Nelder-Mead on the Rosenbrock function.

The analysts' original script, run unchanged as a script model: only its queue/S3/HTTP glue
is gone. Parameters come from `simlab.params()` (or the defaults when run bare), the plot and
result.json go to SIMLAB_OUTPUT_DIR (the current directory when run bare), and each start is
reported with `simlab.report`, so the run page shows live progress.
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize, rosen

import simlab

params = simlab.params()
starts = int(params.get("starts", 20))
dimensions = int(params.get("dimensions", 2))
seed = int(os.environ.get("SIMLAB_SEED", params.get("seed", 1)))
out = os.environ.get("SIMLAB_OUTPUT_DIR", ".")

rng = np.random.default_rng(seed)
best_x, best_f, values = None, np.inf, []
for start in range(starts):
    x0 = rng.uniform(-2.0, 2.0, dimensions)
    result = minimize(rosen, x0, method="nelder-mead", options={"xatol": 1e-8, "fatol": 1e-10})
    values.append(result.fun)
    if result.fun < best_f:
        best_x, best_f = result.x, result.fun
    simlab.report(done=start + 1, total=starts, estimate=best_f)
    print(f"start {start + 1}/{starts}: f = {result.fun:.3e}", flush=True)

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(range(1, starts + 1), np.maximum(values, 1e-300), "o")
ax.set_xlabel("start")
ax.set_ylabel("minimum found")
ax.set_title(f"Rosenbrock, {dimensions} dimensions, {starts} starts")
fig.savefig(os.path.join(out, "plot.png"), dpi=100)

summary = {
    "best_value": float(best_f),
    "best_x": [float(v) for v in best_x],
    "distance_to_optimum": float(np.linalg.norm(np.asarray(best_x) - 1.0)),
    "starts": starts,
    "dimensions": dimensions,
}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
print(json.dumps(summary), file=sys.stderr)
