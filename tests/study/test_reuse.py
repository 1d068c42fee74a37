"""RFI's reuse ablation: both arms draw the same samples, one pass against many."""

import numpy as np
import pytest

from offline_scaling.data import pipeline
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import reuse
from offline_scaling.train import pybullet_imitation
from synthetic import make_source


@pytest.fixture(scope="module")
def source(tmp_path_factory):
  return make_source(tmp_path_factory.mktemp("reuse"), num_policies=6, episodes_per_policy=60,
                     max_len=30)


def test_the_one_pass_arm_holds_its_budget_in_top_episodes_and_the_reuse_arm_a_tenth(source):
  ids = [p.policy_id for p in source.policies()]
  table = reuse.read_episode_table(source, ids, 60)
  assert table.max_k == 60 and not np.isnan(table.returns).any()
  c = pybullet_imitation.default_config()
  c.update(env="hopper", data=str(source.root), expertise=1.0, num_policies=6)
  c.agent.algo = "rfi"
  c.train.batch_size = 4
  configs = reuse.arm_configs(c, source, steps=50, reuse=10)
  k = configs["one_pass"].num_episodes // 6
  assert configs["reuse"].num_episodes == 6 * round(k / 10)
  # The stream's own statistics agree: the one-pass arm's top 10% hold the
  # 50 × 4 samples, and k is the fewest episodes per policy that do.
  for per_policy, enough in ((k, True), (k - 1, False)):
    ranges = {pid: (0, per_policy) for pid in ids}
    stats = pipeline.dataset_stats(source, ids, ranges)
    assert stats.rfi_transitions == table.rfi_transitions(per_policy)
    assert (stats.rfi_transitions >= 200) == enough
  for arm in configs.values():
    assert arm.train.steps == 50 and arm.stream.repeat and arm.episode_position == "first"
    pybullet_imitation.validate(arm)


def test_a_budget_the_collection_cannot_hold_once_is_refused(source):
  ids = [p.policy_id for p in source.policies()]
  table = reuse.read_episode_table(source, ids, 60)
  with pytest.raises(OfflineScalingError, match="fewer than the 1,000,000 samples of one pass"):
    reuse.one_pass_episodes(table, 1_000_000)
