"""Evaluating learned policies in the real env: all seeds × episodes in one vector env."""

from __future__ import annotations

import functools
from typing import Callable

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from offline_scaling.envs import make_vector_env


@functools.lru_cache(maxsize=64)
def _batched_policy(act: Callable, act_kwargs: tuple) -> Callable:
  """act vmapped over seeds and jitted, once per (act, kwargs): periodic
  evaluations of a run reuse the compiled policy instead of re-tracing it."""
  kwargs = dict(act_kwargs)
  return jax.jit(jax.vmap(lambda p, o, k: act(p, o, k, **kwargs)))


def evaluate_seeds(act: Callable, params, env_name: str, num_seeds: int, episodes: int,
                   seed: int, make_envs: Callable[..., gym.vector.VectorEnv] = make_vector_env,
                   **act_kwargs) -> np.ndarray:
  """Undiscounted returns [num_seeds, episodes] of the stacked policies `params`.

  Seed s's policy (params[s]) plays `episodes` episodes, each in its own copy of
  the env; all num_seeds × episodes copies step together, and one jitted call
  picks every action. Env copy i is seeded with seed + i, so the same `seed`
  gives the same episodes.

  Args:
    act: the agent's `act(params, obs [N, D], rng, **act_kwargs) -> [N]`.
    params: the seeds' parameters stacked on axis 0.
    make_envs: builds the vector env (`make_vector_env` signature).
  """
  n = num_seeds * episodes
  envs = make_envs(env_name, n, seed=seed)
  obs, _ = envs.reset(seed=seed)
  policy = _batched_policy(act, tuple(sorted(act_kwargs.items())))
  returns = np.zeros(n)
  running = np.ones(n, bool)
  rng = jax.random.PRNGKey(seed)
  while running.any():
    rng, key = jax.random.split(rng)
    keys = jax.random.split(key, num_seeds)
    actions = policy(params, jnp.asarray(obs).reshape(num_seeds, episodes, *obs.shape[1:]), keys)
    obs, reward, terminated, truncated, _ = envs.step(np.asarray(actions).reshape(n))
    returns += reward * running
    running &= ~(terminated | truncated)
  envs.close()
  return returns.reshape(num_seeds, episodes)
