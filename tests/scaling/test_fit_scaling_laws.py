"""The fit_scaling_laws launch script on a small results store."""

from __future__ import annotations

import json

from absl import flags
from absl.testing import flagsaver
import numpy as np
import pytest

from experiments import fit_scaling_laws
from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling import BNSLParams
from offline_scaling.scaling import bnsl
from offline_scaling.study import fits

SIZES = np.geomspace(1e4, 1e7, 8)
CURVE = BNSLParams(a=3000.0, b=-2e4, c0=0.2)


def _write_store(root):
  """Runs for one good group (8 sizes x 3 seeds), one with too few sizes to
  fit, one with too few to extrapolate (5 sizes: 3 left after the hold-out of
  2, as many as a 0-break law's parameters), a config file beside each result
  and an unfinished run without a return."""
  rng = np.random.default_rng(0)
  records = [
      {"env": "hopper", "algo": "bc", "expertise": 0.6, "param_count": float(p),
       "seed": s, "eval_return": float(bnsl([p], CURVE)[0] + rng.normal(0, 20))}
      for p in SIZES for s in range(3)
  ] + [
      {"env": "hopper", "algo": "rci", "expertise": 0.6, "param_count": p,
       "seed": 0, "eval_return": 100.0}
      for p in (1e4, 1e5)
  ] + [
      {"env": "hopper", "algo": "rfi", "expertise": 0.6, "param_count": p,
       "seed": 0, "eval_return": r}
      for p, r in zip((2000, 6008, 20000, 60000, 200000),
                      (230.1, 197.4, 364.0, 517.0, 540.0))
  ] + [{"env": "hopper", "algo": "bc", "expertise": 0.6, "param_count": 1e8}]
  for i, record in enumerate(records):
    run = root / f"run{i:03d}"
    run.mkdir(parents=True)
    (run / "result.json").write_text(json.dumps(record))
    (run / "config.json").write_text(json.dumps({"lr": 1e-3}))


def test_main_writes_fits_and_figures(tmp_path, capsys):
  results, out = tmp_path / "runs", tmp_path / "fits"
  _write_store(results)
  with flagsaver.flagsaver():
    flags.FLAGS(["fit_scaling_laws", f"--results={results}", "--x=param_count",
                 "--y=eval_return", "--group_by=env,algo,expertise",
                 "--holdout=2", "--n_bootstrap=20", f"--out={out}"])
    fit_scaling_laws.main([])

  summary = json.loads((out / "fits.json").read_text())
  assert summary["group_by"] == ["env", "algo", "expertise"]
  assert summary["allow_growth"] is False
  good, small, few = summary["fits"]
  assert good["group"] == {"env": "hopper", "algo": "bc", "expertise": 0.6}
  assert good["n_train"] == 18 and good["n_holdout"] == 6
  assert good["holdout_rmsle"] < 0.05
  held_out = [row for row in good["per_x"] if row["held_out"]]
  assert [row["x"] for row in held_out] == pytest.approx(SIZES[-2:])
  for row in held_out:
    assert row["band"][0] <= row["predicted"] <= row["band"][1]
  assert (out / good["figure"]).stat().st_size > 0
  assert (out / good["figure"].replace(".png", ".pdf")).exists()
  assert small["group"]["algo"] == "rci" and "distinct values" in small["error"]
  # Fitted, but no number is shown where it would extrapolate.
  assert few["group"]["algo"] == "rfi" and few["can_extrapolate"] is False
  held_out = [row for row in few["per_x"] if row["held_out"]]
  assert len(held_out) == 2
  assert all(row["predicted"] is None and row["band"] is None
             for row in held_out)
  assert all(row["predicted"] is not None
             for row in few["per_x"] if not row["held_out"])
  assert (out / few["figure"]).stat().st_size > 0
  printed = capsys.readouterr().out
  assert "algo=rfi, expertise=0.6: k=0" in printed
  assert "too few sizes to extrapolate" in printed


def test_load_records_reads_jsonl_and_csv(tmp_path):
  jsonl = tmp_path / "r.jsonl"
  jsonl.write_text('{"param_count": 10, "eval_return": -1.5}\n\n'
                   '{"param_count": 20}\n')
  csv = tmp_path / "r.csv"
  csv.write_text("param_count,eval_return\n10,-1.5\n20,\n")
  for path in (jsonl, csv):
    groups = fits.group_records(
        fit_scaling_laws.load_records(str(path)), "param_count", "eval_return",
        [])
    (x, y), = groups.values()
    np.testing.assert_array_equal(x, [10.0])
    np.testing.assert_array_equal(y, [-1.5])


@pytest.mark.parametrize("content, name, match", [
    ("{not json", "bad.json", r"bad.json is not valid JSON"),
    ("", "r.txt", r"neither a directory nor an existing"),
    ('{"param_count": 10}', "r.json", r"No record has all the fields"),
])
def test_bad_results_give_one_clear_error(tmp_path, content, name, match):
  path = tmp_path / name
  path.write_text(content)
  with pytest.raises(OfflineScalingError, match=match):
    fits.group_records(fit_scaling_laws.load_records(str(path)),
                                   "param_count", "eval_return", [])
