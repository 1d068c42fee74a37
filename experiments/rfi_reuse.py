r"""RFI's reuse ablation at one level of a sweep's collection (issue 20).

    python -m experiments.rfi_reuse --sweep=pybullet_repro --workdir=runs/repro \
        --expertise=1.0 --param_count=100000 --steps=4000 --reuse=10

Runs the sweep's RFI point at that level and size twice with the same
`--steps` × batch samples: over one pass of its top 10% of episodes (the first
k episodes of every selected policy, k the fewest whose top 10% hold the
budget) and over about `--reuse` passes of a set `--reuse` times smaller
(`study.reuse`). Runs live in <workdir>/rfi_reuse/ (resumable: a finished arm
is not run again); the table goes to <workdir>/report/rfi_reuse.csv.
"""

from __future__ import annotations

import pandas as pd
from absl import flags
from etils import epath

from experiments import common
from offline_scaling.data.sources import PybulletSource
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid, reuse, stages
from offline_scaling.train import pybullet_imitation

flags.DEFINE_string("sweep", "pybullet_repro", "the named sweep (a PyBullet one)")
flags.DEFINE_multi_string("set", [], "the sweep's FIELD=VALUE overrides, as given to "
                          "experiments.sweep")
flags.DEFINE_string("workdir", None, "the sweep's workdir (its episodes/)")
flags.DEFINE_string("env", "hopper", "the env of the point")
flags.DEFINE_float("expertise", 1.0, "the level of the point")
flags.DEFINE_integer("param_count", 100_000, "the size of the point (one of the sweep's)")
flags.DEFINE_integer("steps", 4_000, "updates per seed of both arms")
flags.DEFINE_integer("reuse", 10, "how many times fewer episodes per policy the reuse arm takes")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  if F.steps < 1 or F.reuse < 2:
    raise OfflineScalingError(f"--steps={F.steps} must be >= 1 and --reuse={F.reuse} >= 2")
  sweep = common.load_sweep(F.sweep, F.set)
  data = stages.data_dir(sweep, F.workdir)
  matches = [p for p in grid.points(sweep) if p.algo == "rfi" and p.env == F.env
             and p.expertise == F.expertise and int(p.size) == F.param_count]
  if not matches:
    raise OfflineScalingError(
        f"sweep {F.sweep} has no RFI point at env={F.env}, expertise={F.expertise}, "
        f"param_count={F.param_count} (its sizes: {list(sweep.sizes)})")
  point_config = grid.run_config(sweep, matches[0], str(data))
  configs = reuse.arm_configs(point_config, PybulletSource(data), F.steps, F.reuse)
  out = epath.Path(F.workdir) / "rfi_reuse"
  results = {}
  for arm, config in configs.items():   # a finished arm's result is read back, not rerun
    print(f"{arm}: {config.num_episodes:,} episodes (the first of each selected policy), "
          f"{F.steps:,} updates")
    results[arm] = pybullet_imitation.run(config, out)
  table = pd.DataFrame(reuse.summarize(results))
  path = epath.Path(F.workdir) / "report" / "rfi_reuse.csv"
  path.parent.mkdir(parents=True, exist_ok=True)
  table.to_csv(path, index=False, float_format="%.6g")
  print(table.to_string(index=False))
  print(f"written: {path}")


if __name__ == "__main__":
  common.run(main)
