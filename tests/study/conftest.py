"""A real (tiny) smoke zoo and collection, shared by the study tests that need one."""

import pytest

from offline_scaling.study import grid, sweep


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
  """(the smoke sweep, a workdir holding its experts and episodes)."""
  workdir = tmp_path_factory.mktemp("smoke")
  config = grid.get_sweep("smoke")
  for stage in ("experts", "collect"):
    sweep.run_sweep(config, workdir, stage=stage, log=lambda _: None)
  return config, workdir
