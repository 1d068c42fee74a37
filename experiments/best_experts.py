r"""Replays each expertise level's best expert, sampled and greedy.

    python -m experiments.best_experts --sweep=pybullet_repro --workdir=runs/repro

The policy table's values are sampled returns (as the experts collected);
offline agents are evaluated greedily. This prints both for the best expert
of every level and writes <workdir>/report/best_experts.csv (copied by
`experiments.report --publish`).
"""

from __future__ import annotations

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import best_experts

flags.DEFINE_string("sweep", "pybullet_repro", "the named sweep (a PyBullet one)")
flags.DEFINE_multi_string("set", [], "the sweep's FIELD=VALUE overrides, as given to "
                          "experiments.sweep")
flags.DEFINE_string("workdir", None, "the sweep's workdir (its zoo/ and episodes/)")
flags.DEFINE_integer("episodes", 10, "episodes per expert and way of acting")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  if F.episodes < 1:
    raise OfflineScalingError(f"--episodes={F.episodes} must be >= 1")
  table = best_experts.best_expert_returns(common.load_sweep(F.sweep, F.set), F.workdir,
                                           F.episodes)
  out = epath.Path(F.workdir) / "report" / "best_experts.csv"
  out.parent.mkdir(parents=True, exist_ok=True)
  table.to_csv(out, index=False, float_format="%.6g")
  print(table.to_string(index=False))
  print(f"written: {out}")


if __name__ == "__main__":
  common.run(main)
