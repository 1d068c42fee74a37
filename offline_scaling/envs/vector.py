"""Vectorised PyBullet envs for on-policy training."""

from __future__ import annotations

import functools
from typing import Callable

import gymnasium as gym

from offline_scaling.envs.registry import make_env


def make_vector_env(name: str, num_envs: int, seed: int, asynchronous: bool = False,
                    make: Callable[..., gym.Env] = make_env) -> gym.vector.VectorEnv:
  """`num_envs` copies of `make(name, seed)` (default `make_env`), env i seeded
  with seed + i.

  Episodes auto-reset in the same step (gymnasium's SAME_STEP mode): the
  returned observation is the first of the new episode and
  `info["final_obs"]` holds the last one of the finished episode.

  Args:
    asynchronous: step the copies in sub-processes (pays off when env steps
      are expensive relative to the inter-process round trip).
  """
  fns = [functools.partial(make, name, seed + i) for i in range(num_envs)]
  cls = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
  return cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
