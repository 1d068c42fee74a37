"""Rolling a policy out in a real env: used by episode collection and evaluation."""

from __future__ import annotations

from typing import Callable

import gymnasium as gym
import jax
import numpy as np

from offline_scaling.agents import ppo
from offline_scaling.data.episodes import Episode

# (observation [D] float32, rng) -> action index
ActFn = Callable[[np.ndarray, jax.Array], int]


def ppo_act_fn(policy: ppo.Policy, deterministic: bool = False) -> ActFn:
  """Acting function of a PPO policy: a sample (as the expert acts) or the mode."""
  def act(obs, rng):
    return int(ppo.act(policy, obs[None], rng, deterministic=deterministic)[0])
  return act


def run_episode(env: gym.Env, act: ActFn, seed: int, rng: jax.Array,
                max_steps: int | None = None) -> Episode:
  """One whole episode from `env.reset(seed=seed)`.

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
  while not (terminated or truncated):
    rng, key = jax.random.split(rng)
    action = act(np.asarray(obs, np.float32), key)
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


def run_episodes(env: gym.Env, act: ActFn, num_episodes: int, seed: int,
                 max_steps: int | None = None) -> list[Episode]:
  """`num_episodes` episodes, episode k reset with seed + k (reproducible).

  Args:
    env: one (unbatched) env.
    act: the policy, `act(obs [D], rng) -> action index`.
    num_episodes: episodes to play.
    seed: seed of the first reset and of the action sampling.
    max_steps: cut episodes after this many steps (None: the env's own limit).
  """
  rng = jax.random.PRNGKey(seed)
  out = []
  for k in range(num_episodes):
    rng, key = jax.random.split(rng)
    out.append(run_episode(env, act, seed + k, key, max_steps))
  return out


def evaluate(env: gym.Env, act: ActFn, num_episodes: int, seed: int) -> dict:
  """Mean, std, min, max of the undiscounted return over `num_episodes`."""
  returns = np.array([e.episode_return for e in run_episodes(env, act, num_episodes, seed)])
  return dict(mean=float(returns.mean()), std=float(returns.std()),
              min=float(returns.min()), max=float(returns.max()),
              episodes=int(num_episodes))
