"""Reported evaluations and tuning evaluations play disjoint episodes."""

import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.train import offline_run, pybullet_imitation


def test_only_the_final_evaluation_plays_the_reported_episodes():
  seeds = []

  def play(agent, params, act_kwargs, seed):   # records which episodes were asked for
    seeds.append(seed)
    return dict(returns=np.full((2, 3), float(seed)))

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


def test_evaluation_reports_the_game_score_and_the_clipped_return_of_the_same_episodes():
  """DQN Replay's values are clipped returns; a SpaceInvaders kill scores 5–30,
  so the two units differ, and the clipped one counts the scoring steps."""
  import jax
  from offline_scaling.envs import make_stacked_atari_env
  from offline_scaling.train import evaluation

  def act(params, obs, rng):   # a random policy over the 6 actions
    return jax.random.randint(rng, obs.shape[:1], 0, 6)

  out = evaluation.evaluate_seeds(act, np.zeros((1,)), "SpaceInvaders", 1, 2, seed=3,
                                  make=make_stacked_atari_env, clipped=True)
  again = evaluation.evaluate_seeds(act, np.zeros((1,)), "SpaceInvaders", 1, 2, seed=3,
                                    make=make_stacked_atari_env)
  assert set(out) == {"returns", "clipped_returns"} and set(again) == {"returns"}
  np.testing.assert_array_equal(out["returns"], again["returns"])   # the same episodes
  assert out["returns"].shape == out["clipped_returns"].shape == (1, 2)
  assert np.all(out["clipped_returns"] > 0)
  assert np.all(out["returns"] >= 5 * out["clipped_returns"])
