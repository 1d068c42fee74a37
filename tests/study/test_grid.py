"""Sweep grids: expansion, run ids, partitioning, run configs."""

import subprocess
import sys

import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid
from offline_scaling.train import atari_run, pybullet_cql

from tests.conftest import REPO


def test_paper_grids_have_the_papers_shape():
  pyb = grid.points(grid.get_sweep("pybullet_paper"))
  assert len(pyb) == 4 * 2 * 5 * 10
  assert {p.algo for p in pyb} == {"rfi", "rci"}
  assert min(p.size for p in pyb) == 10_000 and max(p.size for p in pyb) == 300_000_000
  atari = grid.points(grid.get_sweep("atari_paper"))
  assert len(atari) == 5 * 2 * 4 * 6
  assert sorted({p.size for p in atari}) == [0.5, 1.0, 2.0, 3.0, 4.0, 6.0]


@pytest.mark.parametrize("name", sorted(grid.SWEEPS))
def test_ids_are_distinct_and_every_run_config_validates(name, tmp_path):
  sweep = grid.get_sweep(name)
  points = grid.points(sweep)
  ids = [grid.point_id(sweep, p) for p in points]
  assert len(set(ids)) == len(points)
  for p in points[:: max(1, len(points) // 12)]:
    config = grid.run_config(sweep, p, str(tmp_path))
    if sweep.domain == "pybullet":
      grid.pybullet_module(p.algo).validate(config)
      assert config.agent.param_count == p.size and config.agent.algo == p.algo
    else:
      atari_run.validate(config)
      assert config.width_mult == p.size and config.algo == p.algo
    assert config.train.num_seeds == sweep.num_seeds
    assert config.expertise == p.expertise


def test_ids_are_stable_across_processes_and_change_with_the_config():
  code = ("from offline_scaling.study import grid; s = grid.get_sweep('quickstart'); "
          "print(grid.point_id(s, grid.points(s)[5]))")
  other = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
  sweep = grid.get_sweep("quickstart")
  point = grid.points(sweep)[5]
  assert grid.point_id(sweep, point) == other
  sweep.run.train.steps += 1
  assert grid.point_id(sweep, point) != other
  sweep = grid.get_sweep("quickstart")
  sweep.experts.total_steps *= 2   # other data, other result
  assert grid.point_id(sweep, point) != other


@pytest.mark.parametrize("num_tasks", [1, 2, 3, 7, 40])
def test_partition_covers_every_point_exactly_once(num_tasks):
  points = grid.points(grid.get_sweep("pybullet_paper"))
  shares = [grid.partition(points, i, num_tasks) for i in range(num_tasks)]
  flat = [p for share in shares for p in share]
  assert sorted(flat, key=points.index) == points
  assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_bad_sweeps_are_refused_with_the_field_named():
  with pytest.raises(OfflineScalingError, match="--sweep='nope' is not one of"):
    grid.get_sweep("nope")
  with pytest.raises(OfflineScalingError, match=r"--task_index=3 must lie in \[0, --num_tasks=3\)"):
    grid.partition([1, 2], 3, 3)
  sweep = grid.get_sweep("smoke")
  sweep.algos = ("rci", "iql")
  with pytest.raises(OfflineScalingError, match=r"algos \['iql'\] are not pybullet"):
    grid.points(sweep)
  sweep = grid.get_sweep("smoke")
  sweep.sizes = (500, 1000)
  with pytest.raises(OfflineScalingError, match="sizes .* must be >= 1,000"):
    grid.points(sweep)


@pytest.mark.parametrize("name", ["pybullet_repro", "smoke"])
def test_pybullet_sweeps_take_cql(name, tmp_path):
  from experiments.common import load_sweep
  sweep = load_sweep(name, ["algos=('rfi', 'rci', 'cql')"])
  points = grid.points(sweep)
  cql_points = [p for p in points if p.algo == "cql"]
  assert len(cql_points) == len(points) // 3 == len(sweep.expertise) * len(sweep.sizes)
  ids = {grid.point_id(sweep, p) for p in points}
  assert len(ids) == len(points)
  rfi = next(p for p in points if p.algo == "rfi")
  before = grid.point_id(grid.get_sweep(name), rfi)   # adding CQL leaves the others' ids alone
  assert grid.point_id(sweep, rfi) == before
  for p in cql_points:
    config = grid.run_config(sweep, p, str(tmp_path))
    assert grid.pybullet_module(p.algo) is pybullet_cql
    pybullet_cql.validate(config)
    assert config.agent.algo == "cql" and config.agent.alpha == 0.1
    assert config.agent.num_atoms == 51 and config.agent.param_count == p.size
    assert config.train.steps == sweep.run.train.steps and config.conditioners == (1.0,)
