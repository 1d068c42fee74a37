"""Rolling a policy out in a real env: used by episode collection and evaluation."""

from __future__ import annotations

import itertools
from typing import Callable, Iterator

import gymnasium as gym
import jax
import numpy as np

from offline_scaling.agents import ppo
from offline_scaling.data.episodes import Episode

# (observation [D] float32, rng) -> action index
ActFn = Callable[[np.ndarray, jax.Array], int]
# Keys of a split chain computed per jitted call (`split_chain`).
CHAIN_BLOCK = 64


def ppo_act_fn(policy: ppo.Policy, deterministic: bool = False) -> ActFn:
  """Acting function of a PPO policy: a sample (as the expert acts) or the mode.

  One dispatch of the jitted `ppo.act` per step (compiled once per process,
  whatever the policy), its action read back as numpy: indexing the device
  array would be a second dispatch.
  """
  def act(obs, rng):
    return int(np.asarray(ppo.act(policy, obs[None], rng, deterministic=deterministic))[0])
  return act


@jax.jit
def _chain_block(rng: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(the rng after CHAIN_BLOCK steps of `rng, key = split(rng)`, their keys [CHAIN_BLOCK, 2])."""
  def step(r, _):
    r, key = jax.random.split(r)
    return r, key
  return jax.lax.scan(step, rng, None, length=CHAIN_BLOCK)


def split_chain(rng: jax.Array) -> Iterator[np.ndarray]:
  """key_0, key_1, ...: the keys `rng, key = jax.random.split(rng)` gives call
  after call (the same bits), computed CHAIN_BLOCK at a time in one dispatch
  instead of one dispatch per key; each a uint32 [2] numpy key."""
  while True:
    rng, keys = _chain_block(rng)
    yield from np.asarray(keys)


def run_episode(env: gym.Env, act: ActFn, seed: int, rng: jax.Array,
                max_steps: int | None = None) -> Episode:
  """One whole episode from `env.reset(seed=seed)`; step t acts with the t-th
  key of the split chain of `rng` (`split_chain`).

  Args:
    max_steps: stop (as a truncation) after this many steps; the env's own
      time limit applies too.

  Returns:
    The episode, with L actions/rewards and L + 1 observations (the last one
    is the observation the episode ended in).
  """
  obs, _ = env.reset(seed=seed)
  observations, actions, rewards = [obs], [], []
  terminated = truncated = False
  keys = split_chain(rng)
  while not (terminated or truncated):
    action = act(np.asarray(obs, np.float32), next(keys))
    obs, reward, terminated, truncated, _ = env.step(action)
    observations.append(obs)
    actions.append(action)
    rewards.append(reward)
    if max_steps is not None and len(actions) >= max_steps:
      truncated = True
  return Episode(observations=np.asarray(observations, np.float32),
                 actions=np.asarray(actions, np.int64),
                 rewards=np.asarray(rewards, np.float32),
                 terminated=bool(terminated))


def iter_episodes(env: gym.Env, act: ActFn, seed: int, start: int = 0,
                  max_steps: int | None = None) -> Iterator[Episode]:
  """Episodes `start`, `start` + 1, ... without end; episode k is reset with
  seed + k and acts with the k-th key of the chain split from PRNGKey(seed).

  With `start` > 0 episode `start` − 1 is played first and dropped: PyBullet's
  locomotion envs carry an episode's last potential into the next episode's
  first reward, so the env must be left as that episode leaves it. Episode k
  is then the same, rewards included, whether k others were played before it
  in this env or not.

  Args:
    env: one (unbatched) env.
    act: the policy, `act(obs [D], rng) -> action index`.
    seed: seed of the first reset and of the action sampling.
    start: the index of the first episode yielded.
    max_steps: cut episodes after this many steps (None: the env's own limit).
  """
  keys = split_chain(jax.random.PRNGKey(seed))
  for k, key in enumerate(keys):
    if k >= start - 1:
      episode = run_episode(env, act, seed + k, key, max_steps)
      if k >= start:
        yield episode


def run_episodes(env: gym.Env, act: ActFn, num_episodes: int, seed: int,
                 max_steps: int | None = None) -> list[Episode]:
  """Episodes 0 … `num_episodes` − 1 of `iter_episodes` (reproducible)."""
  return list(itertools.islice(iter_episodes(env, act, seed, 0, max_steps), num_episodes))


def evaluate(env: gym.Env, act: ActFn, num_episodes: int, seed: int) -> dict:
  """Mean, std, min, max of the undiscounted return over `num_episodes`."""
  returns = np.array([e.episode_return for e in run_episodes(env, act, num_episodes, seed)])
  return dict(mean=float(returns.mean()), std=float(returns.std()),
              min=float(returns.min()), max=float(returns.max()),
              episodes=int(num_episodes))
