"""Slow learning check: on mixed-quality Hopper data (the three weakest
checkpoints of a short PPO run and its best one), CQL's greedy return beats
BC's on the same data with the same torso."""

import json
import shutil

import numpy as np
import pytest

from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.train import collect, experts, pybullet_cql, pybullet_imitation


def mixed_hopper_data(root, total_steps=300_000, checkpoint_every=50_000, episodes=20):
  """A Hopper collection of the three weakest checkpoints of one PPO seed and
  its best: its best expert is far above its average. Returns (dir, table)."""
  zoo, every, mixed = root / "zoo", root / "episodes", root / "mixed"
  experts.train_expert("hopper", 0, zoo, ppo.default_config(), total_steps=total_steps,
                       checkpoint_every=checkpoint_every)
  collect.collect_zoo(zoo, every, num_episodes=episodes)
  ranked = sorted(policy_table.read_policy_table(every), key=lambda p: p.value)
  keep = ranked[:3] + ranked[-1:]
  for p in keep:
    (mixed / p.shard).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(every / p.shard, mixed / p.shard)
  policy_table.write_policy_table(mixed / "policy_table.json", keep)
  return mixed, keep


def configure(config, data, num_policies):
  """The shared run settings: every policy, 100K-parameter size, 20k updates, 2 seeds."""
  config.update(data=str(data), expertise=1.0, num_policies=num_policies, eval_episodes=10)
  config.agent.param_count = 100_000
  config.train.update(steps=20_000, batch_size=256, num_seeds=2, updates_per_call=100,
                      log_every=1_000, checkpoint_every=10_000)
  return config


@pytest.mark.slow
def test_cql_beats_bc_on_mixed_hopper_data(tmp_path):
  data, table = mixed_hopper_data(tmp_path)
  values = np.array([p.value for p in table])
  assert values.max() > 2 * values.mean(), f"the data are not mixed enough: {values}"

  cql = pybullet_cql.run(configure(pybullet_cql.default_config(), data, len(table)),
                         tmp_path / "runs", progress=False)
  bc = pybullet_imitation.run(configure(pybullet_imitation.default_config(), data, len(table)),
                              tmp_path / "runs", progress=False)
  print(json.dumps(dict(policy_values=values.round(1).tolist(), cql=cql["eval_return"],
                        bc=bc["eval_return"], cql_returns=cql["eval"]["returns"],
                        bc_returns=bc["eval"]["returns"])))
  assert cql["best_expert_value"] == bc["best_expert_value"] == values.max()
  assert cql["eval_return"] > bc["eval_return"]
