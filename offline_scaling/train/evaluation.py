"""Evaluating learned policies in the real env: all seeds × episodes stepped together."""

from __future__ import annotations

import functools
from typing import Callable

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from offline_scaling.envs import make_env


@functools.lru_cache(maxsize=64)
def _batched_policy(act: Callable, act_kwargs: tuple) -> Callable:
  """act vmapped over seeds and jitted, once per (act, kwargs): periodic
  evaluations of a run reuse the compiled policy instead of re-tracing it."""
  kwargs = dict(act_kwargs)
  return jax.jit(jax.vmap(lambda p, o, k: act(p, o, k, **kwargs)))


def evaluate_seeds(act: Callable, params, env_name: str, num_seeds: int, episodes: int,
                   seed: int, make: Callable[[str, int], gym.Env] = make_env,
                   clipped: bool = False, **act_kwargs) -> dict[str, np.ndarray]:
  """Undiscounted returns [num_seeds, episodes] of the stacked policies `params`:
  {"returns": the env's rewards summed} and, with `clipped`, {"clipped_returns":
  each reward clipped to [−1, 1] first}, the unit of DQN Replay's values
  (Dopamine logged clipped rewards), from the same episodes.

  Seed s's policy (params[s]) plays `episodes` episodes, each in its own copy of
  the env; one jitted call picks every copy's action, and only the copies
  whose episode has not ended are stepped (a finished one waits, rather than
  playing an episode nobody counts while the longest runs on). The copy playing
  episode e of seed s is `make(env_name, seed=k)` reset with seed k = seed +
  e · num_seeds + s, so the same `seed` gives the same episodes. In a
  multi-host run every process calls this together: each plays its contiguous
  share of the episodes and the returns are gathered (as float32) onto all of them.

  Args:
    act: the agent's `act(params, obs [N, D], rng, **act_kwargs) -> [N]`.
    params: the seeds' parameters stacked on axis 0, on this process's devices.
    make: builds one copy of the env (`envs.make_env` signature).
  """
  index, count = jax.process_index(), jax.process_count()
  share = -(-episodes // count)
  lo, hi = min(index * share, episodes), min((index + 1) * share, episodes)
  mine = (_play(act, params, env_name, num_seeds, lo, hi, seed, make, act_kwargs)
          if hi > lo else np.zeros((2, num_seeds, 0)))
  if count > 1:
    padded = np.full((2, num_seeds, share), np.nan, np.float32)
    padded[:, :, :hi - lo] = mine
    gathered = multihost_utils.process_allgather(padded)          # [count, 2, S, share]
    mine = np.concatenate(list(gathered), axis=2)[:, :, :episodes]
  out = dict(returns=mine[0])
  if clipped:
    out["clipped_returns"] = mine[1]
  return out


def _play(act, params, env_name, num_seeds, lo, hi, seed, make, act_kwargs) -> np.ndarray:
  """Returns [2, num_seeds, hi − lo]: the returns, then the clipped returns, of
  episodes lo … hi − 1 of every seed."""
  episodes = hi - lo
  n = episodes * num_seeds
  first = seed + lo * num_seeds   # copy i plays episode lo + i // S of seed i % S
  envs = [make(env_name, seed=first + i) for i in range(n)]
  dtype = envs[0].observation_space.dtype
  obs = np.stack([np.asarray(e.reset(seed=first + i)[0], dtype) for i, e in enumerate(envs)])
  policy = _batched_policy(act, tuple(sorted(act_kwargs.items())))
  returns, clipped = np.zeros(n), np.zeros(n)
  running = np.ones(n, bool)
  rng = jax.random.PRNGKey(seed)
  while running.any():
    rng, key = jax.random.split(rng)
    keys = jax.random.split(key, num_seeds)
    by_seed = jnp.swapaxes(jnp.asarray(obs).reshape(episodes, num_seeds, *obs.shape[1:]), 0, 1)
    actions = np.asarray(policy(params, by_seed, keys)).T.reshape(n)
    for i in np.flatnonzero(running):
      o, reward, terminated, truncated, _ = envs[i].step(actions[i])
      obs[i] = o
      returns[i] += reward
      clipped[i] += np.clip(reward, -1.0, 1.0)
      running[i] = not (terminated or truncated)
  for e in envs:
    e.close()
  return np.stack([returns, clipped]).reshape(2, episodes, num_seeds).transpose(0, 2, 1)
