"""Starting points for the fit from a grid derived from the data.

Given the shape parameters (c0, c, d, f), the BNSL is linear in (a, b), so the
grid covers only the shape: for every grid point a weighted linear least-squares
solve gives a and b, with weights 1/(1+|y|)^2 that make squared y errors
approximate the squared symlog errors. Exponents are scaled by the width of the
observed ln-x range (so that x^c changes y between about 1.1x and 3000x across
the data), break locations are spread evenly in ln x inside the observed range,
and sharpness spans from near-kinks to bends a third of the range wide. Without
`allow_growth`, rows where a segment exponent c0 + c_1 + ... + c_i is negative
are left out (the refinement's box, `refine.bounds`, excludes them too). No grid
needs to be set by hand.
"""

from __future__ import annotations

import itertools

import numpy as np

from offline_scaling.scaling import model
from offline_scaling.scaling import refine
from offline_scaling.scaling import transform

# ln-range change of x^c across the data: c * span.
_EXPONENT_SPANS = (0.1, 0.3, 1.0, 3.0, 8.0)
_SHARPNESS_SPANS = (0.02, 0.08, 0.3)
# Break locations per break count: the grid grows as (locations choose k).
_N_LOCATIONS = {1: 8, 2: 6}
_DEFAULT_N_LOCATIONS = 5
# Grid rows evaluated at once, to bound memory at k >= 2.
_CHUNK = 8192


def _axes(data: refine.Data, n_breaks: int) -> tuple[np.ndarray, ...]:
  """1-D value sets: c0, c (k, one set), ln d' (per break), ln f (per break)."""
  span = data.span
  magnitudes = np.asarray(_EXPONENT_SPANS) / span
  exponents = np.concatenate([-magnitudes[::-1], magnitudes])
  # c0 = 0 is the same curve as a constant for k = 0, but a flat start then a
  # break for k >= 1.
  c0 = exponents if n_breaks == 0 else np.insert(exponents, exponents.size // 2,
                                                 0.0)
  n_loc = _N_LOCATIONS.get(n_breaks, _DEFAULT_N_LOCATIONS)
  locations = data.u.min() + span * (np.arange(n_loc) + 0.5) / n_loc
  log_f = np.log(span * np.asarray(_SHARPNESS_SPANS))
  return c0, exponents, locations, log_f


def _shape_grid(data: refine.Data, n_breaks: int,
                allow_growth: bool) -> tuple[np.ndarray, np.ndarray]:
  """Grid rows (c0, c_1..k, ln d'_1..k, ln f_1..k) and their family ids.

  Breaks are ordered by location (d_1 < d_2 < ...) to skip permutations, and
  share one sharpness to keep the grid small; the refinement frees both. A
  family is a sign of c0, a set of exponent changes and a set of locations:
  the choices that local refinement cannot undo. Without `allow_growth` only
  rows whose segment exponents are all >= 0 are kept.

  Returns:
    (G, 3k + 1) rows and (G,) integer family ids.
  """
  c0, exponents, locations, log_f = _axes(data, n_breaks)
  k = n_breaks
  changes = np.asarray(list(itertools.product(exponents, repeat=k)))
  places = np.asarray(list(itertools.combinations(locations, k)))
  log_f = log_f if k else log_f[:1]
  i0, ic, ip, i_f = (i.ravel() for i in np.meshgrid(
      np.arange(c0.size), np.arange(len(changes)), np.arange(len(places)),
      np.arange(log_f.size), indexing="ij"))
  rows = np.concatenate(
      [c0[i0, None], changes[ic], places[ip],
       np.repeat(log_f[i_f, None], k, axis=1)], axis=1)
  family = (np.sign(c0[i0]).astype(int) + 1) + 3 * (ic + len(changes) * ip)
  if allow_growth:
    return rows, family
  # Tolerance: +m - m cancels exactly, but sums of three may round below 0.
  keep = np.all(np.cumsum(rows[:, :1 + k], axis=1) >= -1e-12, axis=1)
  return rows[keep], family[keep]


def _losses(data: refine.Data, shapes: np.ndarray,
            n_breaks: int) -> tuple[np.ndarray, np.ndarray]:
  """Mean squared symlog error (G,) and the solved (a, b') (G, 2) per row."""
  k = n_breaks
  g = np.exp(model.log_shape(data.u, shapes[:, 0], shapes[:, 1:1 + k],
                             shapes[:, 1 + k:1 + 2 * k],
                             np.exp(shapes[:, 1 + 2 * k:])))
  w = transform.symlog_slope(data.y)**2
  w = w / w.sum()
  g_mean = g @ w
  y_mean = w @ data.y
  g_centred = g - g_mean[:, None]
  var = (g_centred**2) @ w
  cov = g_centred @ (w * (data.y - y_mean))
  # A flat shape (var 0) only supports the constant fit.
  b = np.divide(cov, var, out=np.zeros_like(cov), where=var > 1e-300)
  a = y_mean - b * g_mean
  with np.errstate(invalid="ignore"):
    err = transform.symlog(a[:, None] + b[:, None] * g) - transform.symlog(
        data.y)
    loss = np.mean(err**2, axis=1)
  return np.where(np.isfinite(loss), loss, np.inf), np.stack([a, b], axis=1)


def starts(data: refine.Data, n_breaks: int, n_starts: int,
           allow_growth: bool) -> np.ndarray:
  """The best grid point of each of the `n_starts` best families, as thetas.

  The best rows overall are mostly neighbours of a single minimum; one start
  per family spreads the restarts over the distinct shapes instead.

  Args:
    data: the points (at least two distinct x).
    n_breaks: k.
    n_starts: how many starts to return.
    allow_growth: also start from shapes with a growing segment.

  Returns:
    (min(n_starts, number of families), 3 + 3k) thetas, best first.
  """
  shapes, family = _shape_grid(data, n_breaks, allow_growth)
  losses, linear = zip(*(_losses(data, shapes[i:i + _CHUNK], n_breaks)
                         for i in range(0, len(shapes), _CHUNK)))
  losses, linear = np.concatenate(losses), np.concatenate(linear)
  by_loss = np.argsort(losses, kind="stable")
  _, first = np.unique(family[by_loss], return_index=True)
  best = by_loss[np.sort(first)[:n_starts]]
  return np.concatenate([linear[best], shapes[best]], axis=1)
