"""A sweep's archive: a study resumed in a fresh workdir runs no archived point
again, and its report reads the archived points as the original's did."""

import json
import shutil

import pandas as pd
import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import archive, grid, results, sweep


def _fresh(smoke, path):
  """A new workdir holding the smoke zoo and episodes (what a lost workdir re-makes)."""
  for stage_dir in ("zoo", "episodes"):
    shutil.copytree(smoke / stage_dir, path / stage_dir)
  return path


def _two_points():
  config = grid.get_sweep("smoke")
  grid.override(config, "sizes", (1_000,))
  grid.override(config, "expertise", (1.0,))
  return config


def test_a_fresh_workdir_resumes_from_the_archive_and_reports_the_same(smoke, tmp_path):
  _, zoo = smoke
  config, kept = _two_points(), tmp_path / "points"
  first = _fresh(zoo, tmp_path / "first")
  done = sweep.run_sweep(config, first, stage="train", archive=kept, log=lambda _: None)
  ids = {grid.point_id(config, p) for p in grid.points(config)}
  assert {r["run_id"] for r in done} == ids == set(archive.archived(kept))
  for rid in ids:
    names = {f.name for f in (kept / rid).iterdir()}
    assert {"result.json", "point.json", "evals.jsonl", "metrics.jsonl"} <= names
    assert not any(n.startswith(".") or n == "checkpoints" for n in names)

  logs = []
  second = _fresh(zoo, tmp_path / "second")
  again = sweep.run_sweep(config, second, stage="train", archive=kept, log=logs.append)
  assert "archive" in logs[0] and "2 point(s) restored" in logs[0]
  assert "2 done, 0 to run" in logs[1]
  assert sorted(again, key=lambda r: r["run_id"]) == sorted(done, key=lambda r: r["run_id"])
  assert not list(sweep.runs_dir(second).glob("*/checkpoints"))

  bare = tmp_path / "bare"   # no zoo, no episodes: the report needs only the records
  assert sorted(archive.restore(kept, bare / "runs")[0]) == sorted(ids)
  assert archive.restore(kept, bare / "runs") == ([], [])   # a point with a result keeps it
  original = results.load_results(first).drop(columns="run_id")
  pd.testing.assert_frame_equal(results.load_results(bare).drop(columns="run_id"), original)
  pd.testing.assert_frame_equal(results.curves_table(bare), results.curves_table(first))

  # A zoo made again on another machine: the same policies, other values.
  other = _fresh(zoo, tmp_path / "other")
  table = other / "episodes" / "policy_table.json"
  rows = json.loads(table.read_text())
  for row in rows["policies"]:
    row["value"] += 0.5
  table.write_text(json.dumps(rows))
  points = {grid.point_id(config, p): p for p in grid.points(config)}
  restored, refused = archive.restore(kept, other / "runs", points,
                                      sweep.same_data(config, points, str(other / "episodes")))
  assert restored == [] and sorted(refused) == sorted(ids)
  assert not list(sweep.runs_dir(other).glob("*/result.json"))

  # Points of one sweep made on two zoos are never reported together.
  moved = bare / "runs" / sorted(ids)[0] / "result.json"
  record = json.loads(moved.read_text())
  record["selection"]["values"][-1] += 0.5
  moved.write_text(json.dumps(record))
  with pytest.raises(OfflineScalingError, match="were made on different data: policy"):
    results.load_results(bare)


def test_a_hand_edited_or_missing_archive_is_one_clear_message(smoke, tmp_path):
  with pytest.raises(OfflineScalingError, match="is not a directory"):
    archive.archived(tmp_path / "nowhere")
  point = tmp_path / "points" / "abc123"
  point.mkdir(parents=True)
  (point / "result.json").write_text(json.dumps({"run_id": "def456"}))
  with pytest.raises(OfflineScalingError, match=r"abc123/result.json holds run 'def456'"):
    archive.restore(tmp_path / "points", tmp_path / "runs")
  (point / "result.json").write_text("{not json")
  with pytest.raises(OfflineScalingError, match=r"abc123/result.json is not JSON"):
    archive.archived(tmp_path / "points")
  with pytest.raises(OfflineScalingError, match="only a finished point is archived"):
    archive.save(tmp_path / "runs" / "unfinished", tmp_path / "points")
