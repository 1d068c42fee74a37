"""MLP shapes for a parameter budget: width ≈ 256 × depth ("aspect ratio 256")."""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

ASPECT_RATIO = 256


def mlp_param_count(depth: int, width: int, in_dim: int, out_dim: int) -> int:
  """Exact parameter count (weights + biases) of `depth` hidden layers of `width`."""
  return (in_dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_dim


def mlp_for_param_count(target: int, obs_dim: int, num_actions: int) -> tuple[int, int]:
  """(depth, width) whose MLP has as close to `target` parameters as the shape allows.

  The depth is the integer nearest to the one at which a width of exactly
  256 × depth meets the target (at least 1); the width is then the integer
  that brings the count closest to the target. So width/depth stays near 256
  (below it for targets under ~24K, where one hidden layer of 256 is already
  too big) and the count is within one width step of the target.

  Args:
    target: wanted number of parameters (≥ 1,000).
    obs_dim: input size (observation, plus any conditioning input).
    num_actions: output size.

  Examples:
    >>> mlp_for_param_count(1_000_000, 26, 64)   # HalfCheetah: obs 26, 2^6 actions
    (3, 684)
    >>> mlp_param_count(3, 684, 26, 64)
    999388
  """
  count = lambda d, w: mlp_param_count(d, w, obs_dim, num_actions)
  # Depth where the aspect-ratio-256 MLP hits the target (count grows with depth).
  depth = 1
  while count(depth + 1, ASPECT_RATIO * (depth + 1)) <= target:
    depth += 1
  below, above = count(depth, ASPECT_RATIO * depth), count(depth + 1, ASPECT_RATIO * (depth + 1))
  if target > below and math.log(target / below) > math.log(above / target):
    depth += 1
  # The count is quadratic in width: (depth − 1)·w² + b·w + num_actions.
  a, b, c = depth - 1, (obs_dim + 1) + (depth - 1) + num_actions, num_actions
  if a == 0:
    width = (target - c) / b
  else:
    width = (-b + math.sqrt(b * b + 4 * a * (target - c))) / (2 * a)
  width = max(1, int(round(width)))
  best = min((w for w in (width - 1, width, width + 1) if w >= 1),
             key=lambda w: abs(count(depth, w) - target))
  return depth, best


def hidden_widths(target: int, in_dim: int, out_dim: int,
                  explicit: Sequence[int] = ()) -> tuple[int, ...]:
  """Hidden widths of an MLP from `in_dim` inputs to `out_dim` outputs:
  `explicit` if given, else `depth` layers of `width` from `mlp_for_param_count`.

  Examples:
    >>> hidden_widths(100_000, 15, 8)        # Hopper: obs 15, 2^3 actions
    (304, 304)
    >>> hidden_widths(100_000, 15, 8, (64, 64))
    (64, 64)
  """
  if explicit:
    return tuple(explicit)
  depth, width = mlp_for_param_count(target, in_dim, out_dim)
  return (width,) * depth


def tree_param_count(params) -> int:
  """Number of scalars in a parameter pytree."""
  return sum(math.prod(x.shape) for x in jax.tree.leaves(params))


def count_params(module, *example_inputs) -> int:
  """Parameter count of a flax module, from shapes only (`jax.eval_shape`: nothing allocated)."""
  return tree_param_count(jax.eval_shape(module.init, jax.random.PRNGKey(0), *example_inputs))


def example_input(dim: int) -> jax.ShapeDtypeStruct:
  """A float32 [1, dim] input spec for shape-only initialisation (`jax.eval_shape`)."""
  return jax.ShapeDtypeStruct((1, dim), jnp.float32)
