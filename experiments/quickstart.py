r"""A real, small version of the whole study on Hopper, then its report.

    python -m experiments.quickstart                    # the README says how long
    python -m experiments.quickstart --preset=smoke     # the same, toy-sized: ~3 min

Trains PPO experts (bang-bang Hopper) and keeps a checkpoint every 20k env
steps as a zoo of graded skill, rolls every checkpoint out into episode shards,
builds datasets at three expertise levels, trains RFI and RCI at five model
sizes with several vmapped seeds each until the largest has flattened,
evaluates them in the real env, fits a BNSL to return vs size with the largest
size held out, and writes the report.
Everything lands under --workdir; re-running resumes where it stopped. The
grid is the `quickstart` (or `smoke`) sweep of offline_scaling/study/grid.py:
`python -m experiments.sweep --sweep=quickstart` runs the same points.
"""

from __future__ import annotations

import os

from absl import flags

from experiments import common
from offline_scaling.study import grid, report, sweep

flags.DEFINE_enum("preset", "quickstart", ["quickstart", "smoke"], "the grid's size")
flags.DEFINE_string("workdir", "runs/quickstart", "where everything goes")
flags.DEFINE_integer("workers", min(2, os.cpu_count() or 1),
                     "points trained in parallel processes")
F = flags.FLAGS


def main(_):
  config = grid.get_sweep(F.preset)
  done = sweep.run_sweep(config, F.workdir, workers=F.workers)
  out = report.write_sweep_report(config, F.workdir, done)
  print("\nPerformance at scale (largest model, end of training) vs the best expert in the data:")
  for r in out.headline.itertuples():
    print(f"  {r.env} {r.algo.upper():3s} expertise {r.expertise:.1f}: return "
          f"{r.eval_return:7.1f} ± {r.eval_return_std:5.1f}   best expert "
          f"{r.best_expert_value:7.1f}   ratio {report.format_ratio(r.vs_best_expert)}")
  print(f"\n{report.headline_sentence(out.headline)} Report: {out.path}")


if __name__ == "__main__":
  common.run(main)
