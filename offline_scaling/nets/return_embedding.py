"""The RCI return embedding: a square-wave code of a scalar return.

With u = (G − G_min) / (G_max − G_min) the return's position in the dataset's
range (u > 1 asks for more than any trajectory showed), and P periods
T_j = 4 · 2^{−j}, j = 0 … P − 1 (P = 16 by default), the code is

    e_{2j}   = sq(sin(2π (u + 1) / T_j)),
    e_{2j+1} = sq(cos(2π (u + 1) / T_j)),      sq(z) = +1 if z ≥ 0 else −1.

Each (sin, cos) pair tells which quarter of period T_j the point lies in, and
the quarters of T_{j+1} split those of T_j in two, so the 2P-d code identifies
u to within T_{P−1} / 4 = 2^{−(P−1)} of the return range (2^{−15} at P = 16),
for u ∈ [−1, 3) (the longest period covers it once). Codes are ±1, so the
input stays bounded whatever the return. Fewer periods give a coarser code:
returns closer than its resolution share one code.
"""

from __future__ import annotations

import jax.numpy as jnp

NUM_PERIODS = 16
MAX_PERIODS = 20   # finer codes pass float32's resolution of u + 1 ∈ [0, 4)


def code_size(num_periods: int = NUM_PERIODS) -> int:
  """The code's dimension: a (sin, cos) pair per period."""
  return 2 * num_periods


def resolution(num_periods: int = NUM_PERIODS) -> float:
  """The code's resolution, T_{P−1} / 4 = 2^{−(P−1)}, in units of the return range."""
  return 2.0 ** -(num_periods - 1)


def normalized_return(g, g_min, g_max):
  """u = (G − G_min)/(G_max − G_min); a degenerate range maps every return to 0.

  Args:
    g: returns G [...] (env reward units).
    g_min: the dataset's smallest trajectory return (scalar).
    g_max: the dataset's largest trajectory return (scalar).

  Returns:
    u [...] float32, 0 at G_min and 1 at G_max.
  """
  span = jnp.asarray(g_max, jnp.float32) - g_min
  return jnp.where(span > 0, (g - g_min) / jnp.where(span > 0, span, 1.0), 0.0)


def square_wave_embedding(u: jnp.ndarray, num_periods: int = NUM_PERIODS) -> jnp.ndarray:
  """Normalised returns u [...] -> codes [..., 2 · num_periods] of ±1 (float32).

  Examples:
    >>> codes = square_wave_embedding(jnp.array([0.0, 0.5, 1.0]))
    >>> codes.shape, jnp.unique(codes).tolist()
    ((3, 32), [-1.0, 1.0])
    >>> near = square_wave_embedding(jnp.array([0.5, 0.5 + 2.0**-14]))  # 2 × the resolution apart
    >>> bool((near[0] != near[1]).any())
    True
  """
  periods = 4.0 * 2.0 ** -jnp.arange(num_periods, dtype=jnp.float32)
  phase = 2 * jnp.pi * (jnp.asarray(u, jnp.float32)[..., None] + 1.0) / periods
  waves = jnp.stack([jnp.sin(phase), jnp.cos(phase)], -1).reshape(*phase.shape[:-1],
                                                                   code_size(num_periods))
  return jnp.where(waves >= 0, 1.0, -1.0)
