"""Time of BNSL fits on study-sized data: the issue's target is a 1-break fit on
<= 30 points well under a second on one core.

    python -m benchmarks.bnsl --repeats=7

Each case fits noisy returns drawn from a 1-break curve (a flat start, then a
power-law rise to a plateau) at log-spaced model sizes 1e4..3e8, with a new noise
draw per repeat; the table gives the median, min and max wall time of
`fit_bnsl` per case. BLAS is held to one thread. Writes benchmarks/out/bnsl.json
with the machine it ran on.
"""

from __future__ import annotations

import os

# One core, as the target says: before numpy loads its BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
  os.environ.setdefault(_var, "1")

# pylint: disable=g-import-not-at-top,wrong-import-position
import json
import platform
import time

from absl import app
from absl import flags
from etils import epath
import numpy as np
import scipy

from offline_scaling.scaling import BNSLParams
from offline_scaling.scaling import bnsl
from offline_scaling.scaling import fit_bnsl

flags.DEFINE_integer("repeats", 7, "timed fits per case (new noise each)")
flags.DEFINE_string("out", "benchmarks/out/bnsl.json", "where the JSON goes")
F = flags.FLAGS

_CURVE = BNSLParams(a=2500.0, b=-3e3, c0=0.0, c=(0.35,), d=(3e5,), f=(0.5,))
_NOISE = 60.0  # return units, per seed
# (name, distinct sizes, seeds per size, fit_bnsl keyword arguments)
_CASES = (
    ("k=1, 10 sizes x 1 seed", 10, 1, dict(n_breaks=1, n_bootstrap=0)),
    ("k=1, 10 sizes x 3 seeds", 10, 3, dict(n_breaks=1, n_bootstrap=0)),
    ("k=1, 30 sizes x 1 seed", 30, 1, dict(n_breaks=1, n_bootstrap=0)),
    ("k=0, 30 points", 10, 3, dict(n_breaks=0, n_bootstrap=0)),
    ("k=2, 30 points", 10, 3, dict(n_breaks=2, n_bootstrap=0)),
    ("k chosen (0..2), 30 points", 10, 3, dict(n_bootstrap=0)),
    ("k=1, 30 points, holdout 2", 10, 3,
     dict(n_breaks=1, holdout=2, n_bootstrap=0)),
    ("k=1, 30 points + 100 bootstrap", 10, 3, dict(n_breaks=1, n_bootstrap=100)),
)


def _time_case(n_sizes: int, n_seeds: int, kwargs: dict) -> list[float]:
  """Wall times (s) of `F.repeats` fits, each on a fresh noise draw."""
  x = np.repeat(np.geomspace(1e4, 3e8, n_sizes), n_seeds)
  times = []
  for repeat in range(F.repeats):
    rng = np.random.default_rng(repeat)
    y = bnsl(x, _CURVE) + _NOISE * rng.normal(size=x.size)
    start = time.perf_counter()
    fit_bnsl(x, y, **kwargs)
    times.append(time.perf_counter() - start)
  return times


def main(_):
  rows = []
  print(f"{'case':34s} {'points':>6s} {'median s':>9s} {'min s':>7s} {'max s':>7s}")
  for name, n_sizes, n_seeds, kwargs in _CASES:
    times = _time_case(n_sizes, n_seeds, kwargs)
    rows.append({"case": name, "points": n_sizes * n_seeds,
                 "median_s": float(np.median(times)), "min_s": float(min(times)),
                 "max_s": float(max(times)), "times_s": times})
    r = rows[-1]
    print(f"{name:34s} {r['points']:6d} {r['median_s']:9.3f} {r['min_s']:7.3f} "
          f"{r['max_s']:7.3f}")
  machine = {"platform": platform.platform(), "processor": platform.processor(),
             "cpu_count": os.cpu_count(), "python": platform.python_version(),
             "numpy": np.__version__, "scipy": scipy.__version__,
             "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
             # Other jobs on the machine slow the fits down: record how busy it was.
             "load_avg_1min": os.getloadavg()[0]}
  out = epath.Path(F.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps({"machine": machine, "repeats": F.repeats,
                             "cases": rows}, indent=1))
  print(f"machine: {machine['platform']}, {machine['cpu_count']} CPUs, load "
        f"{machine['load_avg_1min']:.1f}; {out}")


if __name__ == "__main__":
  app.run(main)
