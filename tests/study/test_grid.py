"""Sweep grids: expansion, run ids, partitioning, run configs."""

import subprocess
import sys

import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid
from offline_scaling.train import pybullet_cql

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
    grid.run_module(sweep.domain, p.algo).validate(config)
    if sweep.domain == "pybullet":
      assert config.agent.param_count == p.size and config.agent.algo == p.algo
    else:
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


def test_a_run_setting_applies_to_the_algorithms_that_have_it():
  from experiments.common import load_sweep
  mixed = ["algos=('rfi', 'cql')"]
  base, sweep = load_sweep("smoke", mixed), load_sweep("smoke", mixed + ["run.agent.alpha=0.5"])
  for p in grid.points(sweep):
    same = grid.point_id(sweep, p) == grid.point_id(base, p)
    assert same == (p.algo == "rfi")
    if p.algo == "cql":
      assert grid.run_config(sweep, p).agent.alpha == 0.5
  with pytest.raises(OfflineScalingError,
                     match="run.agent.alpha is not a field of sweep smoke nor of the run "
                           "config of rfi, rci"):
    load_sweep("smoke", ["run.agent.alpha=0.5"])
  with pytest.raises(OfflineScalingError, match="run.agent.alpha='x' has the wrong type"):
    load_sweep("smoke", mixed + ["run.agent.alpha=x"])


def test_the_return_code_is_a_run_setting_that_keeps_earlier_ids():
  from experiments.common import load_sweep
  base = grid.get_sweep("pybullet_repro")
  coarse = load_sweep("pybullet_repro", ["run.agent.return_code_periods=6"])
  explicit = load_sweep("pybullet_repro", ["run.agent.return_code_periods=16"])
  rci = next(p for p in grid.points(base) if p.algo == "rci")
  assert grid.point_id(explicit, rci) == grid.point_id(base, rci)   # the default: pinned below
  assert grid.point_id(coarse, rci) != grid.point_id(base, rci)
  assert grid.run_config(coarse, rci).agent.return_code_periods == 6
  too_fine = load_sweep("pybullet_repro", ["run.agent.return_code_periods=40"])
  with pytest.raises(OfflineScalingError, match="return_code_periods=40 must be in"):
    grid.pybullet_module("rci").validate(grid.run_config(too_fine, rci, "/data"))


# Ids of points since the stream's version 2 (the mixture, each seed its own
# order; issue 20), which changed every id: runs trained on the earlier stream
# (docs/results/reproduction_old among them) are not these runs. A change that
# moves these ids makes every finished run of the presets run again. The
# one-pass preset's ids moved once more when its runs took equal episodes per
# expert (`equal_episodes`, 2026-12-07) instead of whatever their policies held.
PINNED_IDS = {
    "pybullet_repro": {("rfi", 1.0, 10_000): "6c30f6969ee4",
                       ("rfi", 0.6, 45_000): "0d13f8bf5dac",
                       ("rci", 0.2, 320_000): "f19b1c22d3eb",
                       ("rci", 1.0, 100_000): "afd820863370"},
    "quickstart": {("rfi", 0.4, 2_000): "d80f56d52ae5", ("rfi", 1.0, 50_000): "48674f9b8145",
                   ("rci", 0.7, 10_000): "f6eb00b19e9b", ("rci", 1.0, 22_000): "289072f5facd"},
}


@pytest.mark.parametrize("name", sorted(PINNED_IDS))
def test_preset_point_ids_are_those_they_always_had(name):
  sweep = grid.get_sweep(name)
  points = grid.points(sweep)
  (p,) = sweep.num_policies
  for (algo, e, size), run_id in PINNED_IDS[name].items():
    point = grid.Point("hopper", algo, e, p, float(size))
    assert point in points
    assert grid.point_id(sweep, point) == run_id


def test_a_one_pass_sweep_streams_once_but_rfi_cycles_its_top_episodes():
  sweep = grid.get_sweep("pybullet_repro")
  repeat = {p.algo: grid.run_config(sweep, p).stream.repeat for p in grid.points(sweep)}
  assert repeat == {"rci": False, "rfi": True}
  assert grid.run_config(grid.get_sweep("quickstart"),
                         grid.points(grid.get_sweep("quickstart"))[-1]).stream.repeat


def test_collect_settings_are_checked_naming_the_field():
  from experiments.common import load_sweep
  for setting, message in (("collect.episodes=0", "collect.episodes=0 must be an integer >= 1"),
                           ("collect.max_steps_per_policy=-1",
                            "collect.max_steps_per_policy=-1 must be an integer >= 0")):
    with pytest.raises(OfflineScalingError, match=f"sweep field {message}$"):
      load_sweep("smoke", [setting])
  with pytest.raises(OfflineScalingError, match="collect.one_pass='yes' has the wrong type"):
    load_sweep("smoke", ["collect.one_pass=yes"])


def test_num_policies_is_an_axis_that_keeps_the_ids_of_its_values(tmp_path):
  from experiments.common import load_sweep
  sweep = load_sweep("pybullet_repro", ["num_policies=(5, 20, 50, 100)", "expertise=(1.0,)"])
  points = grid.points(sweep)
  assert len(points) == 2 * 4 * 5
  # env, algo, expertise, P, size: each P's sizes together, the P in the order given.
  assert [(p.algo, p.num_policies) for p in points[:10:5]] == [("rfi", 5), ("rfi", 20)]
  assert [p.size for p in points[:5]] == list(sweep.sizes)
  ids = [grid.point_id(sweep, p) for p in points]
  assert len(set(ids)) == len(ids)
  for p in points:
    config = grid.run_config(sweep, p, str(tmp_path))
    grid.pybullet_module(p.algo).validate(config)
    assert config.num_policies == p.num_policies and config.expertise == 1.0
  # Its P = 100 points are the preset's own: same ids, so their results are reused.
  preset = grid.get_sweep("pybullet_repro")
  assert {i for p, i in zip(points, ids) if p.num_policies == 100} == {
      grid.point_id(preset, p) for p in grid.points(preset) if p.expertise == 1.0}
  assert points[7].label(show_p=True) == "hopper rfi e=1 P=20 45,000 params"
  assert points[7].label() == "hopper rfi e=1 45,000 params"
  # A bare value (or a list) is a one-value axis.
  assert load_sweep("smoke", ["num_policies=3"]).num_policies == (3,)
  assert load_sweep("smoke", ["num_policies=[3, 4]"]).num_policies == (3, 4)


@pytest.mark.parametrize("value, shown", [
    ("(0, 5)", "not 0"), ("(5, 20.5)", "not 20.5"), ("-3", "not -3"),
    ("('many',)", "not 'many'"), ("(True,)", "not True")])
def test_bad_numbers_of_experts_are_refused_naming_the_field(value, shown):
  from experiments.common import load_sweep
  with pytest.raises(OfflineScalingError,
                     match=rf"sweep field num_policies .*: each number of experts P must be an "
                           rf"integer >= 1, {shown}$"):
    load_sweep("smoke", [f"num_policies={value}"])
  with pytest.raises(OfflineScalingError, match="sweep field num_policies is empty"):
    load_sweep("smoke", ["num_policies=()"])


def test_the_sweep_command_plans_a_diversity_sweep(tmp_path):
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.sweep", "--sweep=pybullet_repro",
       "--set=num_policies=(5, 20, 50, 100)", "--set=expertise=(1.0,)",
       f"--workdir={tmp_path}", "--dry_run"], cwd=REPO, capture_output=True, text=True,
      timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  planned = [line for line in proc.stdout.splitlines() if "  todo  " in line]
  assert len(planned) == 40
  assert sum("hopper rci e=1 P=50 " in line for line in planned) == 5
  assert "40 points, 40 to run" in proc.stdout


@pytest.mark.parametrize("name", ["atari_paper", "atari_small", "minatar_repro"])
def test_atari_sweeps_fix_the_number_of_experts_and_episodes_per_expert(name, tmp_path):
  """The paper fixes P and the episodes per policy at every level (so diversity
  does not confound quality); the grid selected all 200 checkpoints before."""
  from offline_scaling.data.expertise import episode_ranges, select_policies
  from offline_scaling.data.policy_table import PolicyRecord
  sweep = grid.get_sweep(name)
  (p,) = sweep.num_policies
  configs = [grid.run_config(sweep, point, str(tmp_path)) for point in grid.points(sweep)]
  assert {c.num_policies for c in configs} == {p} and p < 200
  # 5 runs × 40 checkpoints whose values rise with training, as DQN Replay's do.
  table = [PolicyRecord(f"g/run_{r}/ckpt_{k}", "g", r, k, value=k + 0.1 * r, std=0.0,
                        num_episodes=500, num_steps=10_000, shard="")
           for r in range(1, 6) for k in range(40)]
  assert sweep.selection_rule == "rank"   # every level holds P checkpoints
  for e in sweep.expertise:
    selected = select_policies(table, e, p, sweep.selection_rule).policy_ids
    assert len(selected) == p
    if not sweep.data.num_episodes:   # MinAtar: each checkpoint's whole 100K transitions
      continue
    ranges = episode_ranges(table, selected, sweep.data.num_episodes)
    assert {stop - start for start, stop in ranges.values()} <= {
        sweep.data.num_episodes // p, -(-sweep.data.num_episodes // p)}
