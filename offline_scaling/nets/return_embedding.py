"""The RCI return embedding: a square-wave code of a scalar return.

With u = (G − G_min) / (G_max − G_min) the return's position in the dataset's
range (u > 1 asks for more than any trajectory showed), and P periods
T_j = 4 · 2^{−j}, j = 0 … P − 1 (P = 16 by default), the code of x = u + 1 + o is

    e_{2j}   = sq(sin(2π x / T_j)),
    e_{2j+1} = sq(cos(2π x / T_j)),      sq(z) = +1 if z ≥ 0 else −1.

Each (sin, cos) pair tells which quarter of period T_j the point lies in, and
the quarters of T_{j+1} split those of T_j in two, so the 2P-d code identifies
u to within T_{P−1} / 4 = 2^{−(P−1)} of the return range (2^{−15} at P = 16),
for x ∈ [0, 4) (the longest period covers it once). Codes are ±1, so the
input stays bounded whatever the return. Fewer periods give a coarser code:
returns closer than its resolution share one code.

**The code's edges.** Pair j changes at every multiple of 2^{−j} in x, so at
x = (odd) · 2^{−k} (k ≥ 0) the P − k pairs j ≥ k each flip a bit at once; at
x = 2 (u = 1 when o = 0) all P do. The paper's code has o = 0, which puts its
conditioners c = 0.5 … 1.5 (x = 1.5 … 2.5) exactly on such edges: c = 1 is
16 of 32 bits from c = 1 − 10^{−4}, and (float32 ties resolving upward) it has
the code of the cell just above, whose top sin bit only u ≥ 1 (the single best
trajectory) carried in training. `flipped_bits` counts such changes.

The shift o (`agent.return_code_offset`, in units of the return range) moves
every edge by −o and keeps the code's shape, dimension and resolution, so a
run with o ≠ 0 differs from the paper's only in where the cells' edges fall:
if RCI's response to c changes with o, it was a lookup at the code's edges.
o = 1/3 (= 0.0101…₂) puts every c on the 2^{−(P−1)} grid (the paper's c, and
c ± 2^{−8} for P ≥ 9) a third of a finest cell from any edge, and a c that is
a multiple of 2^{−k} a third of a quarter-period from the edges of every pair
j ≥ k; the big edge moves to u = 1 − o. A sub-cell shift (half the finest
cell) would not do: a dyadic c would keep its code exactly, and the edge at
u = 1 would move by 2^{−16} of the range. A smooth or Gray code would change
the embedding's nature, not just its edges.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

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


def square_wave_embedding(u: jnp.ndarray, num_periods: int = NUM_PERIODS,
                          offset: float = 0.0) -> jnp.ndarray:
  """Normalised returns u [...] -> codes [..., 2 · num_periods] of ±1 (float32).

  `offset` o (return-range units, in [0, 1)) shifts u before coding; 0 is the
  paper's code, computed exactly as before the shift existed.

  Examples:
    >>> codes = square_wave_embedding(jnp.array([0.0, 0.5, 1.0]))
    >>> codes.shape, jnp.unique(codes).tolist()
    ((3, 32), [-1.0, 1.0])
    >>> near = square_wave_embedding(jnp.array([0.5, 0.5 + 2.0**-14]))  # 2 × the resolution apart
    >>> bool((near[0] != near[1]).any())
    True
  """
  periods = 4.0 * 2.0 ** -jnp.arange(num_periods, dtype=jnp.float32)
  phase = 2 * jnp.pi * (jnp.asarray(u, jnp.float32)[..., None] + (1.0 + offset)) / periods
  waves = jnp.stack([jnp.sin(phase), jnp.cos(phase)], -1).reshape(*phase.shape[:-1],
                                                                   code_size(num_periods))
  return jnp.where(waves >= 0, 1.0, -1.0)


def flipped_bits(c: float, delta: float, num_periods: int = NUM_PERIODS,
                 offset: float = 0.0) -> tuple[int, int]:
  """How many of the code's 2 · num_periods bits differ between conditioner c
  (u = c) and c − δ, and between c and c + δ (float32, as the agent codes them).

  Examples:
    >>> flipped_bits(1.0, 1e-4)              # the paper's code: 16 bits flip below c = 1
    (16, 2)
    >>> flipped_bits(1.0, 1e-4, num_periods=6)
    (6, 0)
  """
  below, at, above = np.asarray(square_wave_embedding(
      np.array([c - delta, c, c + delta], np.float32), num_periods, offset))
  return int((below != at).sum()), int((above != at).sum())
