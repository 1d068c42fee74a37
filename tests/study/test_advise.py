"""The size-or-quality advisor on a synthetic results table whose answer is known.

Returns follow y = a − b·x^−0.3 per expertise level (a 0-break BNSL, so the
fits recover them), 3 seeds with std 5 around the law:

* rfi: the 0.4 law saturates (100× the largest model: 960) far below the 0.7
  level's measured return (2368): one expertise step wins. The 0.7 law's 10×
  prediction (2683) lies far above the 1.0 level's measured return (2442): 10×
  the parameters wins. 1.0 is the highest level: no verdict.
* bc: 4 sizes, one too few for the held-out check: refused.
* rci at conditioner 1: the largest 0.4 model collapses to a tenth of the law,
  so the fit without it misses it: refused. At conditioner 0.5 the same runs
  follow the law; reading them would not refuse.
"""

import json

import numpy as np
import pandas as pd
import pytest

from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling.fit import TOO_FEW_SIZES
from offline_scaling.study import advise
from tests.study.test_report import write_store

SIZES = np.geomspace(1e3, 1e5, 6)
LAWS = {0.4: (1000.0, 5000.0), 0.7: (3000.0, 20000.0), 1.0: (2600.0, 5000.0)}
N_BOOTSTRAP = 8


def _law(e, x):
  a, b = LAWS[e]
  return a - b * x ** -0.3


def _row(algo, e, x, ret, conditioner=np.nan):
  return dict(env="hopper", algo=algo, expertise=e, param_count=float(x),
              conditioner=conditioner, steps=1000, return_mean=ret, return_std=5.0,
              num_seeds=3, best_expert_value=1000.0 * e)


def _table():
  rows = [_row("rfi", e, x, _law(e, x)) for e in LAWS for x in SIZES]
  rows += [_row("bc", e, x, _law(e, x)) for e in (0.4, 1.0) for x in SIZES[:4]]
  for e in (0.4, 1.0):
    for x in SIZES:
      collapse = 0.1 if (e == 0.4 and x == SIZES[-1]) else 1.0
      rows += [_row("rci", e, x, _law(e, x) * collapse, 1.0), _row("rci", e, x, _law(e, x), 0.5)]
  return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def advice():
  return advise.advise(_table(), n_bootstrap=N_BOOTSTRAP)


def _rows(advice, algo):
  return {r.expertise: r for r in advice.rows if r.group["algo"] == algo}


def test_seed_values_keep_mean_and_std():
  v = advise.seed_values(100.0, 7.0, 3)
  assert v.mean() == pytest.approx(100.0) and v.std() == pytest.approx(7.0)
  assert advise.seed_values(5.0, np.nan, 1).tolist() == [5.0]


def test_known_answers(advice):
  rfi = _rows(advice, "rfi")
  assert list(rfi) == [0.4, 0.7, 1.0]
  low, mid, top = rfi[0.4], rfi[0.7], rfi[1.0]
  assert low.refused is None and low.holdout_error < 0.01
  assert [p.factor for p in low.predictions] == [10.0, 100.0]
  p100 = low.predictions[1]
  assert p100.param_count == pytest.approx(100 * SIZES[-1])
  assert p100.value == pytest.approx(_law(0.4, 1e7), rel=0.02)
  assert p100.low <= p100.value <= p100.high
  assert low.next_expertise == 0.7
  assert low.next_measured == pytest.approx(_law(0.7, SIZES[-1]))
  assert low.verdict == "one expertise step is worth more than 100× the parameters"
  assert mid.predictions[0].value == pytest.approx(_law(0.7, 1e6), rel=0.02)
  assert mid.verdict == "10× the parameters is worth more than one expertise step"
  assert top.next_expertise is None and top.refused is None and len(top.predictions) == 2
  assert top.verdict.startswith("no verdict: 1 is the highest expertise level")


def test_too_few_sizes_is_refused_naming_why(advice):
  bc = _rows(advice, "bc")
  assert bc[0.4].refused.startswith(TOO_FEW_SIZES) and "4 sizes" in bc[0.4].refused
  assert bc[0.4].predictions == () and bc[0.4].verdict.startswith("refused: ")
  assert "highest expertise level" in bc[1.0].verdict and bc[1.0].refused


def test_held_out_miss_is_refused_and_rci_is_read_at_c1(advice):
  rci = _rows(advice, "rci")
  assert rci[0.4].holdout_error > advise.MAX_HOLDOUT_ERROR
  assert rci[0.4].refused.startswith("held-out error") and rci[0.4].predictions == ()
  assert rci[1.0].refused is None
  # A looser threshold lets the same level through.
  loose = advise.advise(_table()[lambda t: t.algo == "rci"], n_bootstrap=N_BOOTSTRAP,
                        max_holdout_error=5.0)
  assert _rows(loose, "rci")[0.4].refused is None


def test_a_level_above_that_measured_lower_is_named():
  table = _table()
  table = table[table.algo == "rfi"]
  table.loc[table.expertise == 1.0, "return_mean"] *= 0.5
  mid = _rows(advise.advise(table, n_bootstrap=N_BOOTSTRAP), "rfi")[0.7]
  assert mid.verdict == ("10× the parameters is worth more than one expertise step; "
                         "the level above measured lower than this one")


def test_verdicts_factor_by_factor():
  def preds(*bands):
    return [advise.Prediction(f, f, (lo + hi) / 2, lo, hi) for f, (lo, hi) in zip((10, 100), bands)]
  assert advise._verdict(preds((0, 10), (5, 20)), 12.0) == (
      "one expertise step is worth more than 10× the parameters; "
      "undecided at 100× (the band straddles it)")
  assert advise._verdict(preds((0, 10), (5, 20)), 5.0) == (
      "undecided: the band straddles it at 10× and 100×")


def test_markdown_and_json_state_the_threshold(advice):
  text = advice.markdown()
  assert f"by more than {advise.MAX_HOLDOUT_ERROR:g} in symlog units" in text
  assert text.count("\n| hopper |") == len(advice.rows) == 7
  assert "| hopper | rfi | 1 | 6 | 100,000 |" in text and "| 0.7: 2367.5 ± 5.0 |" in text
  record = json.loads(json.dumps(advice.to_dict()))
  assert record["max_holdout_error"] == advise.MAX_HOLDOUT_ERROR
  rfi = [r for r in record["rows"] if r["group"] == {"env": "hopper", "algo": "rfi"}]
  assert [p["factor"] for p in rfi[0]["predictions"]] == [10.0, 100.0]


def test_groups_by_num_policies_when_it_varies():
  table = pd.concat([_table().assign(num_policies=p) for p in (20, 100)])
  table = table[table.algo == "bc"]
  advice = advise.advise(table, n_bootstrap=N_BOOTSTRAP)
  assert sorted({r.group["num_policies"] for r in advice.rows}) == [20, 100]
  constant = advise.advise(table[table.num_policies == 20], n_bootstrap=N_BOOTSTRAP)
  assert "num_policies" not in constant.rows[0].group


def test_bad_settings_and_missing_c1():
  with pytest.raises(OfflineScalingError, match="max_holdout_error must be > 0"):
    advise.advise(_table(), max_holdout_error=0)
  table = _table()
  with pytest.raises(OfflineScalingError, match="no evaluation at conditioner 1"):
    advise.advise(table[(table.algo == "rci") & (table.conditioner == 0.5)])


def test_load_table_reads_a_workdir_and_a_published_csv(tmp_path):
  write_store(tmp_path / "sweep", np.random.default_rng(0))
  table = advise.load_table(tmp_path / "sweep")
  rows = advise.advise(table, n_bootstrap=N_BOOTSTRAP).rows
  # The store has 4 sizes: every level is refused, none is dropped.
  assert len(rows) == 6 and all(r.refused.startswith(TOO_FEW_SIZES) for r in rows)
  (tmp_path / "pub").mkdir()
  _table().to_csv(tmp_path / "pub" / "results.csv", index=False)
  assert len(advise.load_table(tmp_path / "pub")) == len(_table())
  _table().drop(columns="num_seeds").to_csv(tmp_path / "pub" / "results.csv", index=False)
  with pytest.raises(OfflineScalingError, match="lacks the columns num_seeds"):
    advise.load_table(tmp_path / "pub")
  with pytest.raises(OfflineScalingError, match="holds neither a sweep's runs/"):
    advise.load_table(tmp_path)


def test_script_writes_advice(tmp_path, script):
  # In its own process, as a user runs it: experiments' scripts each define
  # their flags on absl's global FLAGS, so two of them cannot share one process.
  _table().to_csv(tmp_path / "results.csv", index=False)
  run = script("experiments.advise", f"--results={tmp_path}", f"--out={tmp_path / 'out'}",
               f"--n_bootstrap={N_BOOTSTRAP}")
  assert run.returncode == 0, run.stderr
  assert "one expertise step is worth more than 100× the parameters" in run.stdout
  record = json.loads((tmp_path / "out" / "advice.json").read_text())
  assert record["results"] == str(tmp_path) and len(record["rows"]) == 7
  assert (tmp_path / "out" / "advice.md").read_text().startswith("# Size or quality?")
