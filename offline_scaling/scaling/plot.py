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


def plot_fit(fit: fit_lib.BNSLFit, ax: Any = None, *, x_label: str = "x",
             y_label: str = "y", title: str | None = None,
             level: float = 0.9) -> Any:
  """Draws a fit on a log-x axis.

  Grey points are the training seeds and black their means per x; light-blue
  points are the held-out seeds and green their means; the red line is the fit
  over the whole x range, with the bootstrap band (if any) shaded around it.

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
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  if ax is None:
    from matplotlib import figure  # pylint: disable=g-import-not-at-top
    ax = figure.Figure(figsize=(5, 4), layout="constrained").add_subplot()
  x_all = np.concatenate([fit.x_train, fit.x_holdout])
  curve_x = np.geomspace(x_all.min(), x_all.max(), 200)
  if fit.bootstrap:
    lo, hi = fit.band(curve_x, level)
    ax.fill_between(curve_x, lo, hi, color=_FIT, alpha=0.15, linewidth=0,
                    label=f"{level:.0%} bootstrap band")
  ax.scatter(fit.x_train, fit.y_train, s=12, color=_SEED, label="seeds")
  ax.scatter(*_means(fit.x_train, fit.y_train), s=24, color=_MEAN,
             label="mean", zorder=3)
  if fit.x_holdout.size:
    ax.scatter(fit.x_holdout, fit.y_holdout, s=12, color=_HOLDOUT_SEED,
               label="held-out seeds")
    ax.scatter(*_means(fit.x_holdout, fit.y_holdout), s=24,
               color=_HOLDOUT_MEAN, label="held-out mean", zorder=3)
  ax.plot(curve_x, fit.predict(curve_x), color=_FIT, linewidth=1.5,
          label=f"BNSL fit, {fit.n_breaks} break(s)", zorder=2)
  ax.set_xscale("log")
  ax.xaxis.set_minor_formatter(ticker.NullFormatter())  # labelled minor ticks collide
  # The data and the fit set the y range; a wide bootstrap band (few x values)
  # is clipped rather than allowed to flatten everything else.
  y_seen = np.concatenate([fit.y_train, fit.y_holdout, fit.predict(curve_x)])
  pad = 0.1 * max(np.ptp(y_seen), 1e-9)
  ax.set_ylim(y_seen.min() - pad, y_seen.max() + pad)
  ax.set_xlabel(x_label)
  ax.set_ylabel(y_label)
  if title:
    ax.set_title(title)
  ax.legend(fontsize="small", frameon=False)
  return ax.figure
