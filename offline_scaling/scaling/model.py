"""The Broken Neural Scaling Law (BNSL) function and its parameters.

y = a + b * x^(-c0) * prod_{i=1..k} (1 + (x / d_i)^(1 / f_i))^(-c_i * f_i)

Evaluated in log space: each break factor is exp(-c_i f_i softplus((ln x - ln d_i)
/ f_i)), which stays finite where the literal form over/underflows (x far from
d_i, f_i small).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class BNSLParams:
  """Parameters of a k-break BNSL, in the units of the data.

  Attributes:
    a: offset, in y units (the limit of y as x grows, when the exponent there is
      positive).
    b: scale of the power-law part, in y units times x^c0; its sign says whether
      y falls (b > 0 with a positive exponent) or rises.
    c0: exponent of the first power-law segment (log-log slope of y - a is -c0).
    c: (k,) change of exponent at each break (slope after break i is
      -(c0 + c_1 + ... + c_i)).
    d: (k,) break locations, in x units, > 0.
    f: (k,) sharpness of each break, in ln-x units, > 0 (smaller is sharper).
  """

  a: float
  b: float
  c0: float
  c: tuple[float, ...] = ()
  d: tuple[float, ...] = ()
  f: tuple[float, ...] = ()

  @property
  def n_breaks(self) -> int:
    """Number of breaks k."""
    return len(self.c)

  @property
  def n_params(self) -> int:
    """Number of free parameters, 3 + 3k."""
    return n_params(self.n_breaks)

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "BNSLParams":
    """The curve `to_dict` wrote (e.g. read back from a report's fits.json)."""
    return cls(float(d["a"]), float(d["b"]), float(d["c0"]),
               *(tuple(float(v) for v in d[k]) for k in ("c", "d", "f")))

  def to_dict(self) -> dict[str, float | list[float]]:
    """A JSON-ready dict {a, b, c0, c, d, f}."""
    return {
        "a": float(self.a),
        "b": float(self.b),
        "c0": float(self.c0),
        "c": [float(v) for v in self.c],
        "d": [float(v) for v in self.d],
        "f": [float(v) for v in self.f],
    }


def n_params(n_breaks: int) -> int:
  """Number of free parameters of a BNSL with `n_breaks` breaks."""
  return 3 + 3 * n_breaks


def log_shape(log_x, c0, c, log_d, f) -> np.ndarray:
  """ln of x^(-c0) * prod_i (1 + (x/d_i)^(1/f_i))^(-c_i f_i), broadcast over models.

  Args:
    log_x: (n,) ln x (any fixed offset of ln x may be used, with log_d shifted
      by the same offset).
    c0: (...) first exponent, one per model.
    c: (..., k) exponent changes.
    log_d: (..., k) ln of the break locations.
    f: (..., k) sharpness, > 0.

  Returns:
    (..., n) the log of the multiplicative part of the BNSL.
  """
  log_x = np.asarray(log_x, dtype=float)
  c = np.asarray(c, dtype=float)[..., None]
  f = np.asarray(f, dtype=float)[..., None]
  z = (log_x - np.asarray(log_d, dtype=float)[..., None]) / f
  breaks = np.sum(c * f * np.logaddexp(0.0, z), axis=-2)
  return -np.asarray(c0, dtype=float)[..., None] * log_x - breaks


def bnsl(x, params: BNSLParams) -> np.ndarray:
  """Evaluates the BNSL at x.

  Args:
    x: (n,) positive inputs, in the units the parameters were fitted in.
    params: the curve.

  Returns:
    (n,) predicted y.
  """
  with np.errstate(over="ignore"):
    shape = np.exp(log_shape(np.log(np.asarray(x, dtype=float)), params.c0,
                             params.c, np.log(params.d), params.f))
  return params.a + params.b * shape
