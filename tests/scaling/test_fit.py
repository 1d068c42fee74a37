"""fit_bnsl: recovery, extrapolation, growth bound, k selection, bootstrap,
bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling import BNSLParams
from offline_scaling.scaling import bnsl
from offline_scaling.scaling import fit_bnsl

X = np.geomspace(1e4, 1e8, 25)
# Inside the fitted range and a decade beyond it.
X_EVAL = np.geomspace(1e4, 1e9, 60)

FALLING = {
    0: BNSLParams(a=0.5, b=300.0, c0=0.35),
    1: BNSLParams(a=0.2, b=50.0, c0=0.1, c=(0.5,), d=(1e6,), f=(0.5,)),
    2: BNSLParams(a=1.0, b=20.0, c0=0.05, c=(0.6, -0.4), d=(1e5, 1e7),
                  f=(0.3, 0.6)),
}
# Returns: rising to a plateau, then two growth laws (a negative segment
# exponent, fitted with allow_growth=True): rising after a flat start, and
# crossing zero.
RISING = {
    "saturating": BNSLParams(a=3000.0, b=-2e4, c0=0.2),
    "flat_then_rising": BNSLParams(a=10.0, b=5.0, c0=0.0, c=(-0.5,),
                                   d=(1e6,), f=(0.3,)),
    "negative_to_positive": BNSLParams(a=-50.0, b=2.0, c0=-0.3, c=(0.2,),
                                       d=(3e6,), f=(0.4,)),
}
# A held-out return of 517 at 60,000 was once predicted as 1.4e8 from these
# three sizes (a 0-break law with c0 = -12.5).
FEW_X = np.array([2000.0, 6008.0, 20000.0])
FEW_Y = np.array([230.1, 197.4, 364.0])


def segment_exponents(params):
  """c0, c0 + c_1, ...: the log-log slopes of |y - a| are their negatives."""
  return np.cumsum([params.c0, *params.c])


def assert_recovered(fit, params):
  """Predictions within 1% of the true curve inside and beyond the range."""
  np.testing.assert_allclose(fit.predict(X_EVAL), bnsl(X_EVAL, params),
                             rtol=0.01)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_recovers_noise_free_falling_curves(k):
  fit = fit_bnsl(X, bnsl(X, FALLING[k]), n_breaks=k, n_bootstrap=0)
  assert fit.n_breaks == k
  assert fit.train_rmsle < 1e-6
  assert_recovered(fit, FALLING[k])


@pytest.mark.parametrize("name", sorted(RISING))
def test_recovers_noise_free_rising_curves(name):
  params = RISING[name]
  y = bnsl(X, params)
  assert np.all(np.diff(y) > 0)
  fit = fit_bnsl(X, y, n_breaks=params.n_breaks, n_bootstrap=0,
                 allow_growth=bool(segment_exponents(params).min() < 0))
  assert_recovered(fit, params)


def test_three_sizes_saturate_by_default_and_cannot_extrapolate():
  fit = fit_bnsl(FEW_X, FEW_Y, n_bootstrap=0)
  assert fit.n_breaks == 0 and fit.params.c0 >= 0
  predicted = fit.predict([60_000, 600_000])
  assert np.all(np.isfinite(predicted))
  assert np.all(predicted < 10 * FEW_Y.max())
  # As many distinct x as parameters: the fit interpolates, so it is flagged.
  assert not fit.can_extrapolate and not fit.to_dict()["can_extrapolate"]
  assert fit_bnsl(np.append(FEW_X, 60_000), np.append(FEW_Y, 517.0),
                  n_bootstrap=0).can_extrapolate


@pytest.mark.parametrize("name", ["flat_then_rising", "negative_to_positive"])
def test_growth_needs_allow_growth_and_bootstrap_keeps_the_bound(name):
  params = RISING[name]
  x = np.repeat(X[::2], 2)
  y = bnsl(x, params) * np.exp(
      0.01 * np.random.default_rng(0).normal(size=x.size))
  bounded = fit_bnsl(x, y, n_breaks=params.n_breaks, n_bootstrap=5)
  for p in (bounded.params, *bounded.bootstrap):
    assert segment_exponents(p).min() >= 0
  assert np.isfinite(bounded.predict([1e12])).all()
  free = fit_bnsl(x, y, n_breaks=params.n_breaks, n_bootstrap=5,
                  allow_growth=True)
  assert free.allow_growth and free.to_dict()["allow_growth"]
  assert segment_exponents(free.params).min() < 0
  assert all(segment_exponents(p).min() < 0 for p in free.bootstrap)
  assert free.train_rmsle < bounded.train_rmsle


def test_growth_option_allows_negative_c0_on_three_sizes():
  fit = fit_bnsl(FEW_X, FEW_Y, n_bootstrap=0, allow_growth=True)
  assert fit.params.c0 < 0


def test_negative_values_are_fitted_and_predicted_in_their_own_units():
  params = BNSLParams(a=-21.0, b=-0.5, c0=-0.25)  # Pong-like: -21 and below.
  y = bnsl(X, params)
  assert np.all(y < -21)
  fit = fit_bnsl(X, y, n_breaks=0, n_bootstrap=0, allow_growth=True)
  assert_recovered(fit, params)
  assert fit.params.a == pytest.approx(-21.0, rel=1e-4)


def test_duplicate_x_are_seeds_and_are_averaged_over():
  params = FALLING[1]
  x = np.repeat(X[::2], 4)
  noise = np.tile([-0.01, 0.01, -0.005, 0.005], X[::2].size)
  fit = fit_bnsl(x, bnsl(x, params) * np.exp(noise), n_breaks=1,
                 n_bootstrap=0)
  np.testing.assert_allclose(fit.predict(X), bnsl(X, params), rtol=0.01)


def test_holdout_keeps_the_largest_x_with_all_their_seeds():
  x = np.repeat(X[::3], 2)
  y = bnsl(x, FALLING[0])
  fit = fit_bnsl(x, y, n_breaks=0, holdout=2, n_bootstrap=0)
  np.testing.assert_array_equal(np.unique(fit.x_holdout), X[::3][-2:])
  assert fit.x_train.size + fit.x_holdout.size == x.size
  assert fit.x_train.max() < fit.x_holdout.min()
  assert fit.holdout_rmsle < 1e-6
  assert fit_bnsl(x, y, n_breaks=0, n_bootstrap=0).holdout_rmsle is None


def _median_extrapolation_error(noise):
  params = BNSLParams(a=1.0, b=50.0, c0=0.1, c=(0.4,), d=(1e6,), f=(0.5,))
  x = np.repeat(np.geomspace(1e4, 1e8, 13), 3)
  errors = []
  for seed in range(4):
    rng = np.random.default_rng(seed)
    y = bnsl(x, params) * np.exp(noise * rng.normal(size=x.size))
    fit = fit_bnsl(x, y, n_breaks=1, holdout=3, n_bootstrap=0)
    held_out = np.unique(fit.x_holdout)
    errors.append(np.max(np.abs(fit.predict(held_out) /
                                bnsl(held_out, params) - 1)))
  return np.median(errors)


def test_extrapolation_error_shrinks_with_noise():
  errors = [_median_extrapolation_error(noise) for noise in (0.03, 0.003)]
  assert errors[1] < errors[0] / 3
  assert errors[1] < 0.1


def test_number_of_breaks_is_chosen_by_held_out_error():
  power_law = fit_bnsl(X, bnsl(X, FALLING[0]), n_bootstrap=0)
  assert power_law.n_breaks == 0
  broken = fit_bnsl(X, bnsl(X, FALLING[1]), holdout=2, n_bootstrap=0)
  assert broken.n_breaks >= 1
  assert set(broken.validation_rmsle) == {0, 1, 2}
  assert broken.validation_rmsle[1] < broken.validation_rmsle[0]
  assert broken.holdout_rmsle < 1e-4


def test_bootstrap_band_brackets_the_fit_and_widens_beyond_the_data():
  params = FALLING[1]
  x = np.repeat(np.geomspace(1e4, 1e8, 13), 4)
  y = bnsl(x, params) * np.exp(
      0.02 * np.random.default_rng(0).normal(size=x.size))
  fit = fit_bnsl(x, y, n_breaks=1, holdout=2, n_bootstrap=40)
  assert len(fit.bootstrap) == 40
  points = np.array([1e5, 1e9])
  lo, hi = fit.band(points, level=0.9)
  assert np.all(lo <= fit.predict(points)) and np.all(fit.predict(points) <= hi)
  width = (hi - lo) / np.abs(fit.predict(points))
  assert width[1] > width[0] > 0
  again = fit_bnsl(x, y, n_breaks=1, holdout=2, n_bootstrap=40)
  np.testing.assert_array_equal(again.band(points)[0], lo)


def test_band_without_bootstrap_says_how_to_get_one():
  fit = fit_bnsl(X, bnsl(X, FALLING[0]), n_breaks=0, n_bootstrap=0)
  with pytest.raises(OfflineScalingError, match="n_bootstrap"):
    fit.band(X)


def test_to_dict_reports_params_errors_and_ranges():
  fit = fit_bnsl(X, bnsl(X, FALLING[0]), n_breaks=0, holdout=1, n_bootstrap=3)
  summary = fit.to_dict()
  assert summary["n_breaks"] == 0
  assert summary["params"]["a"] == pytest.approx(0.5, rel=1e-6)
  assert summary["x_holdout"] == [pytest.approx(1e8)]
  assert summary["n_train"] == 24 and summary["n_bootstrap"] == 3


@pytest.mark.parametrize("x, y, kwargs, match", [
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], {"n_breaks": 1},
     r"x has 5 distinct values to fit on but a 1-break BNSL has 6 parameters"),
    ([1, 1, 2, 2, 3, 3, 4, 4], [1] * 8, {"n_breaks": 1},
     r"x has 4 distinct values"),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], {"n_breaks": 0, "holdout": 3},
     r"x has 2 distinct values after holding out 3"),
    ([1, 2, 3], [1, 2, 3], {"holdout": 3}, r"holdout=3 leaves no x"),
    ([1, 2, np.nan, 4], [1, 2, 3, 4], {}, r"x must be finite; x\[2\] is nan"),
    ([1, 2, 3, 4], [1, np.inf, 3, 4], {}, r"y must be finite; y\[1\] is inf"),
    ([1, 0, 3, 4], [1, 2, 3, 4], {}, r"x must be positive.*x\[1\] is 0"),
    ([1, 2, -3, 4], [1, 2, 3, 4], {}, r"x must be positive.*x\[2\] is -3"),
    ([1, 2, 3, 4], [1, 2, 3], {}, r"x and y must have the same length"),
    ([[1, 2], [3, 4]], [1, 2], {}, r"x must be 1-D"),
    (["a", "b", "c"], [1, 2, 3], {}, r"x must be a sequence of numbers"),
    ([1, 2, 3, 4], [1, 2, 3, 4], {"n_breaks": -1}, r"n_breaks must be"),
    ([1, 2, 3, 4], [1, 2, 3, 4], {"holdout": 1.5}, r"holdout must be"),
    ([1, 2, 3, 4], [1, 2, 3, 4], {"n_bootstrap": -2}, r"n_bootstrap must be"),
    ([1, 2, 3, 4], [1, 2, 3, 4], {"allow_growth": "yes"},
     r"allow_growth must be True or False; got 'yes'"),
])
def test_bad_input_raises_one_clear_error(x, y, kwargs, match):
  with pytest.raises(OfflineScalingError, match=match):
    fit_bnsl(x, y, **kwargs)


def test_predict_rejects_non_positive_x():
  fit = fit_bnsl(X, bnsl(X, FALLING[0]), n_breaks=0, n_bootstrap=0)
  with pytest.raises(OfflineScalingError, match=r"x must be positive"):
    fit.predict([1e3, 0.0])
