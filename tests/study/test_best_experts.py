"""Replaying each level's best expert sampled and greedy, on a real (tiny) zoo."""

import numpy as np
import pytest

from offline_scaling.data import policy_table
from offline_scaling.data.expertise import select_policies
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import best_experts, grid, stages


def test_each_level_replays_its_best_expert_both_ways(smoke):
  config, workdir = smoke
  table = best_experts.best_expert_returns(config, workdir, episodes=2)
  assert list(table.expertise) == list(config.expertise)
  rows = policy_table.read_policy_table(stages.episodes_dir(config, workdir) /
                                        policy_table.TABLE_NAME)
  for r in table.itertuples():
    selection = select_policies(rows, r.expertise, config.num_policies[0],
                                config.selection_rule)
    assert r.policy_id == selection.policy_ids[-1]
    assert r.table_value == pytest.approx(selection.best_value)
    assert np.isfinite([r.sampled_return, r.greedy_return]).all() and r.episodes == 2
  # The replays are seeded: the same call gives the same returns.
  again = best_experts.best_expert_returns(config, workdir, episodes=2)
  assert np.allclose(again.greedy_return, table.greedy_return)
  assert np.allclose(again.sampled_return, table.sampled_return)


def test_an_atari_sweep_is_refused_by_name(tmp_path):
  with pytest.raises(OfflineScalingError, match="sweep atari_small is atari"):
    best_experts.best_expert_returns(grid.get_sweep("atari_small"), tmp_path)
