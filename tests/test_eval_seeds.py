"""Reported evaluations and tuning evaluations play disjoint episodes."""

import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.train import offline_run, pybullet_imitation


def test_only_the_final_evaluation_plays_the_reported_episodes():
  seeds = []

  def play(agent, params, act_kwargs, seed):   # records which episodes were asked for
    seeds.append(seed)
    return np.full((2, 3), float(seed))

  evaluate = offline_run.make_evaluate(None, play, (None,), False, eval_seed=1_000,
                                       final_step=300)
  assert [evaluate(None, step)["return_mean"] for step in (100, 200, 300)] == [
      1_000 + offline_run.TUNING_SEED_OFFSET] * 2 + [1_000]
  replay = offline_run.make_evaluate(None, play, (None,), False, eval_seed=7)
  assert replay(None, 5)["return_mean"] == 7     # a replay plays the seed it is given
  assert offline_run.eval_seed_for(1_000, tuning=True) == seeds[0]


def test_too_many_episodes_to_keep_the_two_apart_is_refused():
  c = pybullet_imitation.default_config()
  c.update(data="/data", eval_episodes=600_000)
  c.train.num_seeds = 2
  with pytest.raises(OfflineScalingError, match="--eval_episodes=600000 × 2 seeds exceeds"):
    pybullet_imitation.validate(c)
