"""plot_fit keeps the data in view whatever the fit does beyond it."""

from __future__ import annotations

import numpy as np

from offline_scaling.scaling import BNSLFit
from offline_scaling.scaling import BNSLParams
from offline_scaling.scaling import bnsl
from offline_scaling.scaling import log_count_axis
from offline_scaling.scaling import plot_fit

X_TRAIN = np.array([2000.0, 6008.0, 20000.0, 40000.0])
X_HOLDOUT = np.array([60000.0])
# A growth law (c0 < 0) that leaves the data: 1.3e8 at the held-out x.
RUNAWAY = BNSLParams(a=213.1, b=4.1e-52, c0=-12.45)


def _fit(params, x_train, y_train, bootstrap=()):
  return BNSLFit(params=params, x_train=x_train, y_train=y_train,
                 x_holdout=X_HOLDOUT, y_holdout=np.array([517.0]),
                 train_rmsle=0.0, holdout_rmsle=None, validation_rmsle={},
                 bootstrap=bootstrap, allow_growth=True)


def test_y_range_is_set_by_the_data_not_a_fit_that_leaves_it():
  y_train = np.array([230.1, 197.4, 364.0, 420.0])
  fit = _fit(RUNAWAY, X_TRAIN, y_train, bootstrap=(RUNAWAY, RUNAWAY))
  assert fit.can_extrapolate and fit.predict(X_HOLDOUT)[0] > 1e8
  lo, hi = plot_fit(fit).axes[0].get_ylim()
  span = 517.0 - 197.4
  assert 197.4 - span <= lo <= 197.4 and 517.0 <= hi <= 517.0 + span


def test_a_fit_that_cannot_extrapolate_is_drawn_over_its_training_x_only():
  x_train = X_TRAIN[:3]
  fit = _fit(RUNAWAY, x_train, bnsl(x_train, RUNAWAY))
  assert not fit.can_extrapolate
  ax = plot_fit(fit).axes[0]
  (line,) = ax.get_lines()
  assert line.get_xdata().max() == x_train.max()
  assert "too few sizes to extrapolate" in line.get_label()


def _labels(ax) -> list[str]:
  """The x tick labels drawn inside the axis' limits."""
  ax.figure.canvas.draw()
  lo, hi = ax.get_xlim()
  return [t.get_text() for t in ax.get_xticklabels()
          if t.get_text() and lo <= t.get_position()[0] <= hi]


def test_a_size_axis_within_two_decades_labels_several_sizes():
  # The quickstart's sizes: matplotlib's default labels only 10^4 in view.
  y_train = np.array([230.1, 197.4, 364.0, 420.0])
  assert _labels(plot_fit(_fit(RUNAWAY, X_TRAIN, y_train)).axes[0]) == [
      "2K", "5K", "10K", "20K", "50K"]
  from matplotlib import figure  # pylint: disable=g-import-not-at-top
  ax = figure.Figure().add_subplot()
  ax.plot([1e4, 3e8], [0.0, 1.0])
  log_count_axis(ax)
  assert _labels(ax) == ["10K", "100K", "1M", "10M", "100M"]
