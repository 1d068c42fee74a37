"""The PyBullet locomotion tasks of the study, behind one `make_env`."""

from __future__ import annotations

import gymnasium as gym

from offline_scaling.envs.bang_bang import BangBangActions
from offline_scaling.envs.quiet import QuietFirstReset, silenced
from offline_scaling.errors import OfflineScalingError

# Short name -> gymnasium id. Lower-case short names are what configs and flags use.
PYBULLET_ENVS = {
    "halfcheetah": "HalfCheetahBulletEnv-v0",
    "hopper": "HopperBulletEnv-v0",
    "walker2d": "Walker2DBulletEnv-v0",
    "ant": "AntBulletEnv-v0",
}


def canonical_name(name: str) -> str:
  """Short name ('hopper') for a short name or gymnasium id, any case.

  Raises:
    OfflineScalingError: for an unknown name, listing the known ones.
  """
  key = name.strip().lower()
  for short, env_id in PYBULLET_ENVS.items():
    if key in (short, env_id.lower(), env_id.lower().removesuffix("-v0"),
               env_id.lower().removesuffix("bulletenv-v0")):
      return short
  known = ", ".join(f"{s} ({i})" for s, i in PYBULLET_ENVS.items())
  raise OfflineScalingError(f"unknown env {name!r}; known envs: {known}")


def make_env(name: str, seed: int | None = None, bang_bang: bool = True,
             **kwargs) -> gym.Env:
  """Builds a PyBullet locomotion env.

  Args:
    name: a short name ('hopper', 'halfcheetah', 'walker2d', 'ant') or the
      gymnasium id ('HopperBulletEnv-v0'); case-insensitive.
    seed: seeds the bang-bang magnitude noise and, on the first reset, the env.
    bang_bang: wrap the Box(D) action space into Discrete(2**D) bang-bang actions.
    **kwargs: passed to `gymnasium.make`.

  Returns:
    The env; episodes are capped at the task's own limit (1000 steps).
    PyBullet's native prints (its build time at import, `argv[0]=` on the
    first reset) are silenced, see `offline_scaling.envs.quiet`.
  """
  env_id = PYBULLET_ENVS[canonical_name(name)]
  with silenced(2):
    import pybullet  # noqa: F401  (prints its build time to fd 2 on import)
  import pybullet_envs_gymnasium  # noqa: F401  (registers the *BulletEnv-v0 ids)
  env = QuietFirstReset(gym.make(env_id, **kwargs))
  if bang_bang:
    env = BangBangActions(env, seed=seed)
  if seed is not None:
    env.action_space.seed(seed)
  return env
