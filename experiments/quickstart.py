"""The smallest end-to-end path that exists: a tiny expert zoo and its episodes.

    python -m experiments.quickstart --workdir=runs/quickstart

Trains two PPO seeds on Hopper (bang-bang actions) for a few thousand steps,
saving a checkpoint every 4,000 steps, rolls every checkpoint out into episode
shards, and prints the policy table. (The full study's quickstart replaces
this once the learners and the sweep exist.)
"""

from __future__ import annotations

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.train import collect, experts

flags.DEFINE_string("workdir", "runs/quickstart", "where the zoo and episodes go")
flags.DEFINE_string("env", "hopper", "env name")
flags.DEFINE_integer("total_steps", 16_000, "env steps per expert seed")
F = flags.FLAGS


def main(_):
  workdir = epath.Path(F.workdir)
  config = ppo.default_config()
  for seed in range(2):
    experts.train_expert(F.env, seed, workdir / "zoo", config, F.total_steps, 4_000)
    print(f"trained expert seed {seed} ({F.total_steps} env steps)")
  table = collect.collect_zoo(workdir / "zoo", workdir / "episodes", num_episodes=3)
  print(f"\n{'policy':28s} {'value':>8s} {'std':>7s} {'episodes':>8s} {'steps':>6s}")
  for r in policy_table.read_policy_table(table):
    print(f"{r.policy_id:28s} {r.value:8.1f} {r.std:7.1f} {r.num_episodes:8d} {r.num_steps:6d}")
  print(f"\nzoo: {workdir / 'zoo'}\nepisode shards and policy table: {table.parent}")


if __name__ == "__main__":
  common.run(main)
