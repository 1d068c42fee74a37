"""Rollouts: the key chain and episode numbering that make collections reproducible."""

import itertools

import jax
import numpy as np

from offline_scaling.agents import ppo
from offline_scaling.envs import make_env
from offline_scaling.train import rollout


def test_split_chain_gives_the_keys_of_one_split_after_another():
  rng = jax.random.PRNGKey(7)
  expected = []
  for _ in range(2 * rollout.CHAIN_BLOCK + 3):   # across block boundaries
    rng, key = jax.random.split(rng)
    expected.append(np.asarray(key))
  got = list(itertools.islice(rollout.split_chain(jax.random.PRNGKey(7)), len(expected)))
  np.testing.assert_array_equal(np.stack(got), np.stack(expected))


def test_episodes_from_a_later_start_are_those_one_collection_plays():
  policy = ppo.init(jax.random.PRNGKey(0), 15, 8, ppo.default_config()).policy
  act = rollout.ppo_act_fn(policy)
  whole = rollout.run_episodes(make_env("hopper", seed=3), act, 6, seed=3)
  tail = list(itertools.islice(
      rollout.iter_episodes(make_env("hopper", seed=3), act, seed=3, start=4), 2))
  for a, b in zip(whole[4:], tail, strict=True):
    np.testing.assert_array_equal(a.observations, b.observations)
    np.testing.assert_array_equal(a.actions, b.actions)
    # The first reward too: it depends on how the env's previous episode ended.
    np.testing.assert_array_equal(a.rewards, b.rewards)
