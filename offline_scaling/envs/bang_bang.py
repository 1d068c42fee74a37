"""Bang-bang discretisation of a continuous action space.

A box action space of dimension D becomes `Discrete(2**D)`. Index i picks a sign
per dimension from its binary digits (bit d of i set -> dimension d is
positive); each component's magnitude is then drawn from U(0.8, 1), so a
component always lies in [0.8, 1] or [-1, -0.8].
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

MIN_MAGNITUDE = 0.8


def index_to_signs(index: np.ndarray | int, dim: int) -> np.ndarray:
  """Maps action indices to sign vectors.

  Args:
    index: int or integer array of shape [...], values in [0, 2**dim).
    dim: D, the continuous action dimension.

  Returns:
    float32 array of shape [..., dim] with entries in {-1, +1}; entry d is +1
    iff bit d of the index is set.

  Examples:
    >>> index_to_signs(5, 3)   # 5 = 0b101: dimensions 0 and 2 positive
    array([ 1., -1.,  1.], dtype=float32)
    >>> index_to_signs(np.array([0, 3]), 2)
    array([[-1., -1.],
           [ 1.,  1.]], dtype=float32)
  """
  index = np.asarray(index, dtype=np.int64)
  bits = (index[..., None] >> np.arange(dim)) & 1
  return (2 * bits - 1).astype(np.float32)


def signs_to_index(signs: np.ndarray) -> np.ndarray:
  """Inverse of `index_to_signs`: sign vectors [..., D] -> indices [...].

  Any positive component counts as +1, any other as -1, so a scaled bang-bang
  action (magnitudes in [0.8, 1]) maps back to its index too.

  Examples:
    >>> int(signs_to_index(np.array([0.93, -0.85, 0.8])))
    5
  """
  signs = np.asarray(signs)
  bits = (signs > 0).astype(np.int64)
  return (bits << np.arange(signs.shape[-1])).sum(-1)


def bang_bang_action(index: int, dim: int, rng: np.random.Generator,
                     low: np.ndarray, high: np.ndarray) -> np.ndarray:
  """The continuous action for one index: sign × U(0.8, 1) magnitude, in env units.

  The unit action in [-1, 1]^D is mapped affinely onto [low, high] (the
  PyBullet locomotion tasks already use [-1, 1], where this is the identity).

  Args:
    index: the discrete action in [0, 2^dim).
    dim: D, the continuous action dimension.
    rng: draws the D magnitudes.
    low: [D] lower bounds of the env's Box.
    high: [D] upper bounds of the env's Box.

  Returns:
    float32 [D] action.
  """
  unit = index_to_signs(index, dim) * rng.uniform(MIN_MAGNITUDE, 1.0, size=dim)
  return (low + (unit + 1.0) * 0.5 * (high - low)).astype(np.float32)


class BangBangActions(gym.ActionWrapper):
  """Turns a Box(D) action space into Discrete(2**D) bang-bang actions.

  The magnitude noise comes from a generator seeded by the first
  `reset(seed=...)` (the env seed), so a seeded episode is reproducible.
  """

  def __init__(self, env: gym.Env, seed: int | None = None):
    super().__init__(env)
    space = env.action_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
      raise TypeError(f"BangBangActions needs a 1-d Box action space, got {space}")
    self.dim = space.shape[0]
    self._low = space.low.astype(np.float64)
    self._high = space.high.astype(np.float64)
    self.action_space = gym.spaces.Discrete(2 ** self.dim)
    self._rng = np.random.default_rng(seed)

  def reset(self, *, seed=None, options=None):
    """Resets the env; a `seed` also reseeds the magnitude generator and action space."""
    if seed is not None:
      self._rng = np.random.default_rng(seed)
      self.action_space.seed(seed)
    return self.env.reset(seed=seed, options=options)

  def action(self, action):
    """Discrete index in [0, 2^D) -> the float32 [D] Box action it stands for."""
    return bang_bang_action(int(action), self.dim, self._rng, self._low, self._high)
