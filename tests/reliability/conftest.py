"""Fixtures of the reliability tests."""

import pytest

from synthetic import make_source


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
  """A small real episode collection (shards + policy table), observations of 5 floats."""
  root = tmp_path_factory.mktemp("data")
  make_source(root, obs_dim=5)
  return root
