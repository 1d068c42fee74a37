"""Resampling seeds within each x."""

from __future__ import annotations

import numpy as np

from offline_scaling.scaling import bootstrap


def test_resampling_draws_each_x_from_its_own_seeds_with_replacement():
  x = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 3.0, 2.0, 1.0])
  rng = np.random.default_rng(0)
  draws = [bootstrap.resample_within_x(x, rng) for _ in range(200)]
  for idx in draws:
    np.testing.assert_array_equal(np.sort(x[idx]), np.sort(x))
  # Every point of every x is drawn sometimes, and some resample repeats one.
  assert set(np.concatenate(draws)) == set(range(x.size))
  assert any(np.unique(idx).size < x.size for idx in draws)
