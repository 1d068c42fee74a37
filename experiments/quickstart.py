"""The smallest end-to-end path that exists: experts → episodes → BC → evaluation.

    python -m experiments.quickstart --workdir=runs/quickstart

Trains two PPO seeds on Hopper (bang-bang actions) for a few thousand steps,
saving a checkpoint every 4,000 steps, rolls every checkpoint out into episode
shards, prints the policy table, then trains BC (two vmapped seeds of a
10K-parameter MLP) on the top-half expertise dataset and evaluates it in the
real env. (The full study's quickstart replaces this once the sweep exists.)
"""

from __future__ import annotations

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.train import collect, experts, pybullet_imitation

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
  config = pybullet_imitation.default_config()
  config.update(data=str(table.parent), env=F.env, expertise=0.5, num_policies=4,
                eval_episodes=5)
  config.agent.param_count = 10_000
  config.train.update(steps=1_000, batch_size=64, num_seeds=2, updates_per_call=100,
                      log_every=500, checkpoint_every=500)
  result = pybullet_imitation.run(config, workdir / "bc")
  print(f"\nBC at expertise 0.5 ({len(result['selection']['policy_ids'])} policies, "
        f"{result['dataset']['num_transitions']} transitions): eval return "
        f"{result['eval_return']:.1f} (mean of 2 seeds × 5 episodes); best expert in the "
        f"data: {result['best_expert_value']:.1f}")
  print(f"\nzoo: {workdir / 'zoo'}\nepisode shards and policy table: {table.parent}"
        f"\nBC run: {workdir / 'bc' / result['run_id']}")


if __name__ == "__main__":
  common.run(main)
