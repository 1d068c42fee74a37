"""RCI's conditioning response: finished runs of a real (tiny) smoke sweep played again."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import conditioning, figures, grid, sweep


@pytest.fixture(scope="module")
def rci_runs(smoke):
  """Two finished RCI runs (the smallest and largest smoke sizes at e = 1) and
  one RFI run, in the smoke workdir."""
  config, workdir = smoke
  config = config.copy_and_resolve_references()
  config.update(algos=("rci", "rfi"), expertise=(1.0,), sizes=(1_000, 8_000))
  sweep.run_sweep(config, workdir, stage="train", log=lambda _: None)
  ids = {grid.point_id(config, p): p for p in grid.points(config)}
  return workdir, ids


def _as_written_before_later_fields(run_dir):
  """The result record as runs finished before r_min/r_max and the return
  code's setting existed wrote it."""
  record = json.loads((run_dir / "result.json").read_text())
  for field in ("r_min", "r_max"):
    del record["dataset"][field]
  del record["config"]["agent"]["return_code_periods"]
  (run_dir / "result.json").write_text(json.dumps(record))


def test_replaying_reproduces_the_run_and_adds_the_best_experts_c(rci_runs):
  workdir, ids = rci_runs
  old = next(i for i, p in ids.items() if p.algo == "rci")
  _as_written_before_later_fields(workdir / "runs" / old)
  played = []
  dirs = conditioning.reevaluate_runs(workdir, ids, [1.0, 0.5, 0.8], log=played.append)
  assert {d.name for d in dirs} == {i for i, p in ids.items() if p.algo == "rci"}
  assert len(played) == 2
  for d in dirs:
    record = json.loads((d / "result.json").read_text())
    saved = json.loads((d / conditioning.RECORD_NAME).read_text())
    assert saved["step"] == record["steps"]
    # Nothing trained: the run's own conditioners give its recorded final returns.
    for c in ("0.5", "1"):
      assert saved["returns"][c] == record["eval"][f"c={c}/returns"]
    c_star = conditioning.best_expert_conditioner(record)
    assert set(saved["returns"]) == {"0.5", "0.8", "1", f"{c_star:g}"}

  table = conditioning.response_table(workdir, ids)
  assert len(table) == 2 * 4 and set(table["code_size"]) == {32}
  star = table[table["at_best_expert"]]
  assert np.allclose(star["asked_return"], star["best_expert_value"], atol=0.1)
  one = table[table["conditioner"] == 1.0]
  assert np.allclose(one["asked_return"], one["g_max"])
  per_run = conditioning.summary(table)
  assert list(per_run["size"]) == [1_000, 8_000]
  for r in per_run.itertuples():
    rows = table[table["size"] == r.size]
    assert r.best_return == rows["return_mean"].max()
    assert r.return_at_c1 == one.loc[one["size"] == r.size, "return_mean"].item()

  # Cached: asking again plays nothing; a new c plays only that c.
  conditioning.reevaluate_runs(workdir, ids, [0.5, 1.0], log=played.append)
  assert len(played) == 2
  conditioning.reevaluate_runs(workdir, ids, [0.9], log=played.append)
  assert len(played) == 4 and all(line.endswith("played c = 0.9") for line in played[2:])

  png = figures.save(figures.conditioning_response(table), workdir / "fig",
                     "conditioning_response")
  assert Image.open(png).size[0] > 300


def test_runs_it_cannot_replay_are_refused_by_name(rci_runs, tmp_path):
  workdir, ids = rci_runs
  rfi = {i for i, p in ids.items() if p.algo == "rfi"}
  with pytest.raises(OfflineScalingError, match="no finished PyBullet RCI run"):
    conditioning.reevaluate_runs(workdir, rfi, [1.0])
  with pytest.raises(OfflineScalingError, match="must be finite"):
    conditioning.reevaluate_runs(workdir, ids, [float("nan")])
  (tmp_path / "runs").mkdir()
  with pytest.raises(OfflineScalingError, match="no conditioning.json"):
    conditioning.response_table(tmp_path, ids)


def test_the_boundary_replay_reads_c_and_its_neighbours_side_by_side(rci_runs, tmp_path):
  workdir, ids = rci_runs
  rci = {i for i, p in ids.items() if p.algo == "rci"}
  for rid in rci:   # a copy, so the other tests' caches stay as they expect
    shutil.copytree(workdir / "runs" / rid, tmp_path / "runs" / rid)
  grid_ = conditioning.boundary_grid((1.0,))
  assert grid_ == [1 - 2 ** -8, 1.0, 1 + 2 ** -8]
  conditioning.reevaluate_runs(tmp_path, rci, grid_, log=lambda _: None)
  table = conditioning.response_table(tmp_path, rci)
  assert {1 - 2 ** -8, 1 + 2 ** -8} <= set(table["conditioner"])   # cached exactly
  edges = conditioning.boundary_summary(table)
  assert list(edges["size"]) == [1_000, 8_000] and set(edges["conditioner"]) == {1.0}
  for r in edges.itertuples():
    got = table[table["size"] == r.size].set_index("conditioner")["return_mean"]
    assert (r.return_below, r.return_at, r.return_above) == (
        got[1 - 2 ** -8], got[1.0], got[1 + 2 ** -8])
    # The steps' changes are paired over seeds, each with its interval around it.
    assert r.jump_below == pytest.approx(r.return_at - r.return_below)
    assert r.jump_above == pytest.approx(r.return_above - r.return_at)
    assert r.jump_below_ci_low <= r.jump_below <= r.jump_below_ci_high
  # The 32-d code, moving 2^−8 from its edge at u = 1: below, pairs 0–7 cross
  # it (8 bits), pair 8 moves one quarter (1) and pair 9 two (2), finer pairs a
  # multiple of four (0); above, only pairs 8 and 9 change (1 + 2).
  assert set(edges["bits_below"]) == {11} and set(edges["bits_above"]) == {3}
  with pytest.raises(OfflineScalingError, match="no conditioner was played at c ± 0.00390625"):
    conditioning.boundary_summary(table[table["conditioner"] != 1 + 2 ** -8])
