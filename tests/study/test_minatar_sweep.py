"""The MinAtar smoke sweep end to end: DQN replay → CQL, RCI, BC points → report."""

import pytest

pytest.importorskip("minatar")

from offline_scaling.data import policy_table  # noqa: E402
from offline_scaling.errors import OfflineScalingError  # noqa: E402
from offline_scaling.study import grid, report, sweep  # noqa: E402
from offline_scaling.train import runs  # noqa: E402


def test_minatar_smoke_sweep_logs_its_replay_then_runs_every_algorithm(tmp_path):
  from experiments.sweep import replay_line
  config = grid.get_sweep("minatar_smoke")
  assert replay_line(config, str(tmp_path)).startswith(
      "replay: 2 DQN runs (1 games × 2) × 1,500 frames: 3,000 of 3,000 frames left; ~")
  results = sweep.run_sweep(config, tmp_path, workers=1, log=lambda _: None)
  assert sweep.replay_estimate(config, tmp_path)["done"] == 3_000
  rows = policy_table.read_policy_table(tmp_path / "replay" / "breakout")
  assert len(rows) == 2 * 3 and {r.seed for r in rows} == {1, 2}
  assert sorted(r["algo"] for r in results) == ["bc", "cql", "rci"]
  for r in results:
    assert r["domain"] == "minatar" and r["value_unit"] == "clipped"
    assert r["passes"] <= 1 and r["eval_return"] is not None
  # Done points are not run again; the ids do not depend on where the replay lies.
  again = sweep.run_sweep(config, tmp_path, stage="train", log=lambda _: None)
  assert sorted(r["run_id"] for r in again) == sorted(r["run_id"] for r in results)
  for p in grid.points(config):
    assert runs.read_result(sweep.runs_dir(tmp_path) / grid.point_id(config, p))
  out = report.write_sweep_report(config, tmp_path, results)
  assert out.path.exists()


def test_a_minatar_sweep_over_tasks_needs_the_replay_first(tmp_path):
  with pytest.raises(OfflineScalingError, match="--stage=experts, then --stage=train"):
    sweep.run_sweep(grid.get_sweep("minatar_smoke"), tmp_path, num_tasks=2)
