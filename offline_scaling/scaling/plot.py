"""Paper-style figure of a BNSL fit: seeds, means, fit, held-out points, band."""

from __future__ import annotations

from typing import Any

import numpy as np

from offline_scaling.scaling import fit as fit_lib

# Colours of the reference figures (Caballero et al., 2023).
_SEED, _MEAN, _FIT = "0.6", "black", "red"
_HOLDOUT_SEED, _HOLDOUT_MEAN = "lightskyblue", "green"


def _means(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Distinct x (m,) and the mean y over the seeds at each (m,)."""
  distinct, inverse = np.unique(x, return_inverse=True)
  return distinct, np.bincount(inverse, weights=y) / np.bincount(inverse)


def y_limits(y_data: np.ndarray, y_model: np.ndarray) -> tuple[float, float]:
  """The y range: the data's, widened for the fit and band (any shape) by at
  most half the data's own range, plus a 5% pad.

  A fit or band that leaves the data (a wild extrapolation, a wide band from
  few x) is cut at the edge instead of flattening the points into a line.
  """
  lo, hi = float(y_data.min()), float(y_data.max())
  reach = 0.5 * max(hi - lo, 0.1 * max(abs(lo), abs(hi)), 1e-9)
  model = np.clip(y_model, lo - reach, hi + reach)
  lo, hi = min(lo, float(np.nanmin(model))), max(hi, float(np.nanmax(model)))
  pad = 0.05 * (hi - lo)
  return lo - pad, hi + pad


def format_count(value: float, _pos=None) -> str:
  """A count as the paper writes sizes: 2K, 320K, 1.5M, 300M."""
  for unit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
    if abs(value) >= unit:
      return f"{value / unit:g}{suffix}"
  return f"{value:g}"


def log_count_axis(ax: Any) -> None:
  """Puts ax's x axis (positive counts: parameters, samples) on a log scale
  labelled 2K, 10K, 1M ...; call it after the data are drawn.

  Spans of at most 2 decades get labels at 1, 2 and 5 × 10^k, so that even a
  range inside one decade shows several labelled sizes (matplotlib's default
  labels only powers of ten there); wider ones at powers of ten.
  """
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  ax.set_xscale("log")
  lo, hi = ax.get_xlim()
  subs = (1.0, 2.0, 5.0) if np.log10(hi / lo) <= 2 else (1.0,)
  ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
  ax.xaxis.set_major_formatter(ticker.FuncFormatter(format_count))
  ax.xaxis.set_minor_formatter(ticker.NullFormatter())   # labelled minor ticks collide


def plot_fit(fit: fit_lib.BNSLFit, ax: Any = None, *, x_label: str = "x",
             y_label: str = "y", title: str | None = None,
             level: float = 0.9) -> Any:
  """Draws a fit on a log-x axis (`log_count_axis`).

  Grey points are the training seeds and black their means per x; light-blue
  points are the held-out seeds and green their means; the red line is the fit
  over the whole x range, with the bootstrap band (if any) shaded around it
  (over the training x only when the fit cannot extrapolate,
  `BNSLFit.can_extrapolate`). The y range is the data's: fit and band are cut
  at half the data's range beyond it.

  Args:
    fit: the fit to draw.
    ax: a matplotlib Axes to draw into; None makes a new 5x4-inch Figure (not
      registered with pyplot, so this works without a display).
    x_label: x axis label.
    y_label: y axis label.
    title: axes title.
    level: coverage of the bootstrap band.

  Returns:
    The matplotlib Figure drawn into.
  """
  if ax is None:
    from matplotlib import figure  # pylint: disable=g-import-not-at-top
    ax = figure.Figure(figsize=(5, 4), layout="constrained").add_subplot()
  y_all = np.concatenate([fit.y_train, fit.y_holdout])
  x_drawn = (np.concatenate([fit.x_train, fit.x_holdout])
             if fit.can_extrapolate else fit.x_train)
  curve_x = np.geomspace(x_drawn.min(), x_drawn.max(), 200)
  curve_y = fit.predict(curve_x)
  band = fit.band(curve_x, level) if fit.bootstrap else ()
  if fit.bootstrap:
    ax.fill_between(curve_x, *band, color=_FIT, alpha=0.15, linewidth=0,
                    label=f"{level:.0%} bootstrap band")
  ax.scatter(fit.x_train, fit.y_train, s=12, color=_SEED, label="seeds")
  ax.scatter(*_means(fit.x_train, fit.y_train), s=24, color=_MEAN,
             label="mean", zorder=3)
  if fit.x_holdout.size:
    ax.scatter(fit.x_holdout, fit.y_holdout, s=12, color=_HOLDOUT_SEED,
               label="held-out seeds")
    ax.scatter(*_means(fit.x_holdout, fit.y_holdout), s=24,
               color=_HOLDOUT_MEAN, label="held-out mean", zorder=3)
  label = f"BNSL fit, {fit.n_breaks} break(s)"
  if not fit.can_extrapolate:
    label += f": {fit_lib.TOO_FEW_SIZES}"
  ax.plot(curve_x, curve_y, color=_FIT, linewidth=1.5, label=label, zorder=2)
  log_count_axis(ax)
  ax.set_ylim(*y_limits(y_all, np.concatenate([curve_y, *band])))
  ax.set_xlabel(x_label)
  ax.set_ylabel(y_label)
  if title:
    ax.set_title(title)
  ax.legend(fontsize="small", frameon=False)
  return ax.figure
