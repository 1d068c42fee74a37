"""Slow learning check: BC on one PPO expert's episodes recovers >= 90% of its return."""

import json

import pytest

from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.train import collect, experts, pybullet_imitation


@pytest.mark.slow
def test_bc_recovers_a_hopper_expert(tmp_path):
  zoo, episodes = tmp_path / "zoo", tmp_path / "episodes"
  experts.train_expert("hopper", 0, zoo, ppo.default_config(), total_steps=300_000,
                       checkpoint_every=300_000)
  collect.collect_zoo(zoo, episodes, num_episodes=30)
  (expert,) = policy_table.read_policy_table(episodes)
  assert expert.value > 300, f"the PPO expert is too weak to test BC with: {expert}"

  config = pybullet_imitation.default_config()
  config.data = str(episodes)
  config.agent.param_count = 100_000
  config.train.update(steps=20_000, batch_size=256, num_seeds=2, updates_per_call=100,
                      log_every=1000, checkpoint_every=10_000)
  config.eval_episodes = 10
  result = pybullet_imitation.run(config, tmp_path / "runs", progress=False)
  print(json.dumps(dict(expert=expert.value, bc=result["eval_return"])))
  assert result["best_expert_value"] == expert.value
  assert result["eval_return"] >= 0.9 * expert.value
