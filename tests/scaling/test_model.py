"""The BNSL function and the symlog transform against their literal formulas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from offline_scaling.scaling import model
from offline_scaling.scaling import transform


@pytest.mark.parametrize("params", [
    model.BNSLParams(a=0.5, b=30.0, c0=0.3),
    model.BNSLParams(a=-2.0, b=-5.0, c0=-0.1, c=(0.7,), d=(1e3,), f=(0.4,)),
    model.BNSLParams(a=1.0, b=20.0, c0=0.05, c=(0.6, -0.4), d=(1e2, 1e4),
                     f=(0.3, 2.0)),
])
def test_bnsl_matches_literal_formula(params):
  x = np.geomspace(1.0, 1e6, 13)
  literal = params.b * x**-params.c0
  for c, d, f in zip(params.c, params.d, params.f):
    literal = literal * (1 + (x / d)**(1 / f))**(-c * f)
  np.testing.assert_allclose(model.bnsl(x, params), params.a + literal,
                             rtol=1e-12)


def test_bnsl_stays_finite_for_sharp_breaks_far_from_x():
  params = model.BNSLParams(a=0.0, b=1.0, c0=0.0, c=(1.0,), d=(1.0,),
                            f=(1e-3,))
  y = model.bnsl(np.array([1e-6, 1e6]), params)
  np.testing.assert_allclose(y, [1.0, 1e-6], rtol=1e-9)


def test_symlog_is_log1p_for_non_negative_and_odd():
  y = np.array([0.0, 0.5, 3.0, 1e4])
  np.testing.assert_allclose(transform.symlog(y), np.log1p(y))
  np.testing.assert_allclose(transform.symlog(-y), -np.log1p(y))


def test_rmsle_is_the_root_mean_squared_log_error_on_positive_values():
  y, y_hat = np.array([1.0, 10.0]), np.array([2.0, 10.0])
  expected = np.sqrt(np.mean((np.log(y + 1) - np.log(y_hat + 1))**2))
  assert transform.rmsle(y, y_hat) == pytest.approx(expected)


def test_params_to_dict_is_json_ready_and_reads_back():
  params = model.BNSLParams(a=1.0, b=2.0, c0=0.1, c=(0.2,), d=(3.0,), f=(0.5,))
  assert params.to_dict() == {"a": 1.0, "b": 2.0, "c0": 0.1, "c": [0.2],
                              "d": [3.0], "f": [0.5]}
  assert params.n_params == 6
  assert model.BNSLParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
