"""Results tables, figures and the report, from a small synthetic results store.

The records have the exact layout `train.offline_run.run` writes (result.json,
evals.jsonl) plus the sweep's point.json; their returns follow a known law
(rising with size, capped by expertise, and with the number of experts P when
it varies), so the tables and fits can be checked.
"""

import itertools
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from PIL import Image
from scipy import stats

from offline_scaling.data.policy_table import write_json_atomic
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import figures, fits, intervals, report, results

SIZES = (1_000, 4_000, 16_000, 64_000)
LEVELS = (0.4, 0.7, 1.0)
CONDITIONERS = (0.5, 1.0, 1.5)
SEEDS, EPISODES, STEPS = 3, 2, 300
DISTINCT = 25_600   # distinct transitions of every synthetic run's data: 0.75 passes


def _returns(expertise, size, c, p, rng):
  """[seeds, episodes] returns: 1000 · expertise · (1 − size^−0.3) · c^0.2 · (P/100)^0.1
  + noise."""
  mean = 1000 * expertise * (1 - size ** -0.3) * c ** 0.2 * (p / 100) ** 0.1
  return (mean + rng.normal(0, 5, (SEEDS, EPISODES))).tolist()


def _evaluation(algo, expertise, size, p, rng, fraction=1.0):
  if algo != "rci":
    rets = _returns(expertise * fraction, size, 1.0, p, rng)
    return dict(returns=rets, return_mean=float(np.mean(rets)))
  ev = {}
  for c in CONDITIONERS:
    rets = _returns(expertise * fraction, size, c, p, rng)
    ev[f"c={c:g}/returns"], ev[f"c={c:g}/return_mean"] = rets, float(np.mean(rets))
  ev["return_mean"] = ev["c=1/return_mean"]
  return ev


def write_store(workdir, rng, levels=LEVELS, num_policies=(100,), passes=True):
  """RFI and RCI runs at every level × P × size. A level e has round(50·e)
  eligible experts: a larger P selects them all. `passes` False: records as
  written before they carried `passes` and `distinct_transitions`."""
  extra = dict(distinct_transitions=DISTINCT, passes=STEPS * 64 / DISTINCT) if passes else {}
  for algo, e, p, n in itertools.product(("rfi", "rci"), levels, num_policies, SIZES):
    rid = f"{algo}-{e}-{n}" + ("" if p == 100 else f"-P{p}")
    d = workdir / "runs" / rid
    evals = [dict(step=s, **_evaluation(algo, e, n, p, rng, s / STEPS)) for s in (100, 200, 300)]
    d.mkdir(parents=True)
    (d / "evals.jsonl").write_text("".join(json.dumps(x) + "\n" for x in evals))
    config = dict(env="hopper", conditioners=list(CONDITIONERS if algo == "rci" else (1.0,)),
                  num_policies=p, train=dict(num_seeds=SEEDS, steps=STEPS),
                  agent=dict(algo=algo, param_count=n))
    write_json_atomic(d / "point.json", dict(sweep="synthetic", run_id=rid, env="hopper",
                                             algo=algo, expertise=e, num_policies=p,
                                             size=float(n)))
    write_json_atomic(d / "result.json", dict(
        run_id=rid, config=config, domain="pybullet", env="hopper", algo=algo, expertise=e,
        selection_rule="value", param_count=n + (32 * 64 if algo == "rci" else 0),
        steps=STEPS, samples_seen=STEPS * 64, data_exhausted=False, eval=evals[-1],
        eval_return=evals[-1]["return_mean"],
        selection=dict(policy_ids=[f"p{i}" for i in range(min(p, round(50 * e)))]),
        dataset=dict(num_transitions=DISTINCT), best_expert_value=1000 * e, **extra))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("sweep")
  write_store(workdir, np.random.default_rng(0))
  return workdir


def test_results_table_has_every_run_and_config_field(store):
  df = results.load_results(store)
  assert len(df) == 2 * len(LEVELS) * len(SIZES)
  assert {"config.train.num_seeds", "config.agent.param_count", "seed_returns"} <= set(df)
  row = df[(df.algo == "rci") & (df.expertise == 1.0) & (df["size"] == 64_000)].iloc[0]
  assert len(row.seed_returns) == SEEDS
  assert row.eval_return == pytest.approx(np.mean(row.seed_returns))
  cond = results.conditioner_table(store)
  assert len(cond) == len(LEVELS) * len(SIZES) * len(CONDITIONERS)
  curves = results.curves_table(store)
  runs_per_algo = len(df) // 2
  assert len(curves) == runs_per_algo * 3 * SEEDS * (1 + len(CONDITIONERS))
  assert curves.headline.sum() == len(df) * 3 * SEEDS
  assert set(curves[curves.headline & (curves.algo == "rci")].conditioner) == {1.0}
  assert sorted(curves.fraction.unique()) == pytest.approx([1 / 3, 2 / 3, 1])


def test_summary_table_is_one_row_per_run_and_conditioner(store):
  table = results.summary_table(store)
  assert list(table.columns) == ["env", "algo", "expertise", "param_count", "conditioner",
                                 "steps", "return_mean", "return_std", "num_seeds",
                                 "best_expert_value", "run_id", "num_policies",
                                 "return_ci_low", "return_ci_high", "passes", "value_unit",
                                 "raw_return_mean"]
  assert (table.num_policies == 100).all()
  assert len(table) == len(LEVELS) * len(SIZES) * (1 + len(CONDITIONERS))
  assert table[table.algo == "rfi"].conditioner.isna().all()
  row = table[(table.algo == "rci") & (table.expertise == 1.0) & (table.param_count == 64_000 + 32 * 64)
              & (table.conditioner == 1.5)].iloc[0]
  assert row.return_mean == pytest.approx(1000 * (1 - 64_000 ** -0.3) * 1.5 ** 0.2, abs=10)
  assert row.num_seeds == SEEDS and row.steps == STEPS
  assert row.return_ci_low < row.return_mean < row.return_ci_high
  assert (table.passes == STEPS * 64 / DISTINCT).all()


def _bootstrap(seed_returns):
  """scipy's percentile bootstrap of the mean, called directly: the reference."""
  ci = stats.bootstrap((np.asarray(seed_returns),), np.mean, n_resamples=2_000,
                       confidence_level=0.95, method="percentile",
                       rng=np.random.default_rng(0)).confidence_interval
  return ci.low, ci.high


def test_ci_columns_are_the_bootstrap_of_each_seeds_mean_return(store):
  table = results.summary_table(store)
  for r in table.itertuples():
    ev = json.loads((store / "runs" / r.run_id / "result.json").read_text())["eval"]
    key = "returns" if r.algo != "rci" else f"c={r.conditioner:g}/returns"
    seeds = np.mean(ev[key], axis=1)   # each seed's mean over its episodes
    assert (r.return_ci_low, r.return_ci_high) == pytest.approx(_bootstrap(seeds))
    assert r.return_mean == pytest.approx(seeds.mean())
  df = results.load_results(store)   # the headline evaluation: RCI at c = 1
  assert (df.num_seeds == SEEDS).all() and (df.passes == STEPS * 64 / DISTINCT).all()
  for r in df.itertuples():
    assert (r.return_ci_low, r.return_ci_high) == pytest.approx(_bootstrap(r.seed_returns))
  assert set(df.return_ci_low) <= set(table.return_ci_low)


def test_an_interval_holds_the_mean_and_narrows_with_more_seeds():
  rng = np.random.default_rng(3)
  widths = []
  for n in (5, 20, 80):
    seeds = rng.normal(1000, 50, n)
    low, high = intervals.mean_ci(seeds)
    assert low < seeds.mean() < high
    assert intervals.mean_ci(seeds) == (low, high)   # seeded: the same numbers, the same CI
    widths.append(high - low)
  assert widths[0] > widths[1] > widths[2]
  # With many seeds the percentile bootstrap is the normal interval ±1.96·s/√n.
  assert widths[2] == pytest.approx(2 * 1.96 * seeds.std() / np.sqrt(80), rel=0.15)
  assert np.isnan(intervals.mean_ci([1000.0])).all()   # one seed: no interval
  assert intervals.mean_ci([7.0] * 5) == (7.0, 7.0)
  assert intervals.format_ci(1913.2, 1850.14, 1960.4) == "1,913.2 [1,850.1, 1,960.4]"
  assert intervals.format_ci(1913.2, np.nan, np.nan) == "1,913.2 [—]"


def test_the_rule_holds_only_where_the_whole_interval_is_on_one_side():
  assert intervals.side(1.0, 2.0, 0.0) == 1 and intervals.side(-2.0, -1.0, 0.0) == -1
  assert intervals.side(-1.0, 2.0, 0.0) == 0 and intervals.side(np.nan, np.nan, 0.0) == 0


def test_training_gains_see_the_rising_curves(store):
  # The synthetic returns scale with the fraction of training: every pair improves.
  gains = results.training_gains(results.curves_table(store))
  assert len(gains) == len(LEVELS) * len(SIZES) * (1 + len(CONDITIONERS))
  assert gains.improved.all() and not gains.worsened.any()
  assert (gains.half_step == 100).all()   # nearest to 150; ties go early
  assert (gains.final_step == STEPS).all()
  assert gains[gains.algo == "rfi"].conditioner.isna().all()
  assert (gains.gain_ci_low > 0).all() and (gains.gain_ci_low < gains.gain).all()


def _curves(half, final):
  """`curves_table` rows of one run: each seed's return at steps 50 and 100."""
  return pd.DataFrame([dict(run_id="r", env="hopper", algo="rfi", expertise=1.0,
                            param_count=1000, conditioner=np.nan, num_policies=100,
                            headline=True, step=step, fraction=step / 100, seed=seed,
                            **{"return": ret})
                       for step, rets in ((50, half), (100, final))
                       for seed, ret in enumerate(rets)])


@pytest.mark.parametrize("final, improved, worsened", [
    ((112, 108, 111, 109, 110), True, False),    # every seed gains about 10
    ((90, 92, 89, 91, 88), False, True),         # every seed loses about 10
    # A mean gain of 5, beyond one standard error (4.1: the rule before CIs said
    # "improved"), but the seeds disagree: the CI of the paired gain holds 0.
    ((92, 100, 105, 110, 118), False, False),
])
def test_training_gains_are_judged_by_the_ci_of_the_paired_gain(final, improved, worsened):
  half = (100,) * 5
  gain = np.subtract(final, half)
  row = results.training_gains(_curves(half, final)).iloc[0]
  assert (row.improved, row.worsened) == (improved, worsened)
  assert (row.gain_ci_low, row.gain_ci_high) == pytest.approx(_bootstrap(gain))
  assert row.gain == pytest.approx(gain.mean())


def test_report_draws_every_figure_and_tables_scale_vs_best_expert(store):
  out = report.write_report(store, holdout=1, n_bootstrap=10)
  text = out.path.read_text()
  figures = ["performance_vs_expertise", "size_vs_quality", "conditioning", "training_curves",
             "bnsl_extrapolation"]
  for stem in figures:
    png = store / "report" / f"{stem}.png"
    assert f"]({stem}.png)" in text
    assert (store / "report" / f"{stem}.pdf").stat().st_size > 1000
    assert min(Image.open(png).size) > 300
  assert len(list((store / "report" / "bnsl").glob("*.png"))) == 2 * len(LEVELS)
  # The headline: the largest size of each (algo, expertise) against its best expert.
  assert len(out.headline) == 2 * len(LEVELS)
  top = out.headline[(out.headline.algo == "rfi") & (out.headline.expertise == 1.0)].iloc[0]
  assert top.vs_best_expert == pytest.approx(1 - 64_000 ** -0.3, abs=0.02)
  assert "| hopper | rfi | 1 | 64,000 |" in text
  # The BNSL rows name the held-out size and its observed return; 3 training sizes
  # are as many as a 0-break law's parameters, so no prediction is shown for it.
  fitted = [e for e in out.fits if "error" not in e]
  assert len(fitted) == 2 * len(LEVELS)
  assert not any(e["can_extrapolate"] for e in fitted)
  assert text.count("| 64,000 |") >= len(LEVELS) and "held-out RMSLE" in text
  assert text.count("| too few sizes to extrapolate | – |") == 2 * len(LEVELS)
  assert "At the largest size, hopper RCI reaches" in text
  assert f"Of {2 * len(LEVELS) * len(SIZES) + 2 * len(LEVELS) * len(SIZES)}" in text
  assert (store / "report" / "results.csv").read_text().startswith(
      "env,algo,expertise,param_count,conditioner,steps,return_mean,return_std,num_seeds,"
      "best_expert_value,num_policies,return_ci_low,return_ci_high,passes\n")
  # The headline table: seeds, the return with its 95% CI, the ratio's CI, passes.
  cell = intervals.format_ci(top.eval_return, top.return_ci_low, top.return_ci_high)
  assert (f"| hopper | rfi | 1 | 64,000 | {SEEDS} | {cell} | 1000.0 | "
          f"{top.vs_best_expert:.2f} [{top.vs_best_expert_ci_low:.2f}, "
          f"{top.vs_best_expert_ci_high:.2f}] | {STEPS * 64 / DISTINCT:.2f} |") in text
  assert report.RULE in text and "95% CI of the mean gain over seeds lies above 0" in text
  # One P: no diversity section or figure, no P column, file names as ever.
  assert "number of experts" not in text and "P =" not in text
  assert not (store / "report" / "performance_vs_diversity.png").exists()
  assert "| env | algo | expertise | parameters | seeds | return [95% CI] |" in text


def test_figures_draw_the_95_percent_ci_as_bands(store):
  df = results.load_results(store)
  fig = figures.size_vs_quality(df)
  ax = next(ax for ax in fig.axes if ax.get_title() == "hopper RFI")
  rows = df[(df.algo == "rfi") & (df.expertise == 1.0)].sort_values("param_count")
  assert not ax.containers   # no error bars
  band = ax.collections[LEVELS.index(1.0)].get_paths()[0].vertices
  assert band[:, 1].min() == pytest.approx(rows.return_ci_low.min())
  assert band[:, 1].max() == pytest.approx(rows.return_ci_high.max())
  figures.plt.close(fig)
  curves = results.curves_table(store)
  fig = figures.training_curves(curves)
  ax = fig.axes[0]
  assert len(ax.collections) == len(SIZES) and fig.get_suptitle().endswith("95% CI)")
  panel = curves[curves.headline & (curves.algo == "rci") & (curves.expertise == LEVELS[0])]
  first = panel[(panel.param_count == panel.param_count.min()) & (panel.step == STEPS)]
  low, high = intervals.mean_ci(first.sort_values("seed")["return"])
  ys = ax.collections[0].get_paths()[0].vertices[:, 1]
  assert np.isclose(ys, low).any() and np.isclose(ys, high).any()
  figures.plt.close(fig)


def test_the_bnsl_panels_draw_each_fit_its_held_out_mean_and_band(tmp_path):
  rng = np.random.default_rng(1)
  sizes = np.repeat([1e3, 4e3, 16e3, 64e3, 256e3, 1e6], 3)
  groups = {("hopper", "rfi", e): (sizes, 1000 * e * (1 - sizes ** -0.3)
                                   + rng.normal(0, 5, sizes.size)) for e in (0.5, 1.0)}
  entries = fits.fit_groups(groups, ["env", "algo", "expertise"], tmp_path, x_label="n",
                            y_label="r", holdout=1, n_breaks=0, max_breaks=0, n_bootstrap=20,
                            band_level=0.9, seed=0)
  assert all(e["can_extrapolate"] for e in entries)
  fig = figures.bnsl_extrapolation(entries + [{"group": {}, "error": "not fitted"}])
  ax, = [a for a in fig.axes if a.get_visible()]
  assert ax.get_title() == "hopper RFI" and "90% bootstrap bands" in fig.get_suptitle()
  top = entries[1]
  dashed = [line for line in ax.lines if line.get_linestyle() == "--" and len(line.get_xdata())]
  assert len(dashed) == 2 and dashed[1].get_xdata()[-1] == pytest.approx(1e6)
  held = next(p for p in top["per_x"] if p["held_out"])
  assert dashed[1].get_ydata()[-1] == pytest.approx(held["predicted"], rel=1e-6)
  points = np.concatenate([c.get_offsets() for c in ax.collections
                           if not isinstance(c, PolyCollection) and len(c.get_offsets())])
  assert any(np.allclose(pt, [1e6, held["mean_y"]]) for pt in points)
  fills = [c for c in ax.collections if isinstance(c, PolyCollection)]
  band = fills[-1].get_paths()[0].vertices[:, 1]
  assert band.min() == pytest.approx(min(p["band"][0] for p in top["per_x"]))
  assert band.max() == pytest.approx(max(p["band"][1] for p in top["per_x"]))
  figures.plt.close(fig)
  fig = figures.bnsl_extrapolation([{"group": {}, "error": "too few sizes"}])
  assert [t.get_text() for t in fig.axes[0].texts] == ["no BNSL fitted: too few sizes"]
  figures.plt.close(fig)


def test_publish_copies_markdown_figures_and_csv_only(store, tmp_path):
  report.write_report(store, holdout=1, n_bootstrap=0)
  md = report.publish(store / "report", tmp_path / "pub")
  names = {p.relative_to(tmp_path / "pub").as_posix() for p in (tmp_path / "pub").rglob("*")
           if p.is_file()}
  assert md.read_text() == (store / "report" / "report.md").read_text()
  assert {"report.md", "results.csv", "size_vs_quality.png"} <= names
  assert any(n.startswith("bnsl/") and n.endswith(".png") for n in names)
  assert not any(n.endswith((".pdf", ".json")) for n in names)
  with pytest.raises(OfflineScalingError, match="write the report first"):
    report.publish(tmp_path / "nothing", tmp_path / "pub2")


def test_an_empty_workdir_is_named(tmp_path):
  with pytest.raises(OfflineScalingError, match="no sweep has run in"):
    results.load_results(tmp_path)


@pytest.mark.parametrize("ratios, half_widths, verdict", [
    ((1.0, 0.9, 1.1), 0.05, "tracks the best expert at every level (95% CI within 0.8–1.2×)"),
    ((1.8, 1.0, 0.9), 0.05, "exceeds the best expert by more than 1.2× at expertise 0.4 and "
                            "tracks it (95% CI within 0.8–1.2×) at expertise 0.7, 1."),
    ((1.3, 1.0, 0.5), 0.05, "exceeds the best expert by more than 1.2× at expertise 0.4 and "
                            "falls below 0.8× of the best expert at expertise 1 and tracks it"),
    # The same means, wider intervals: 1.3 [1.1, 1.5] and 0.5 [0.15, 0.85] each
    # cross a bound, so neither claim holds.
    ((1.3, 1.0, 0.5), (0.2, 0.05, 0.35), "tracks it (95% CI within 0.8–1.2×) at expertise 0.7 "
                                         "and is undecided (95% CI across 0.8× or 1.2×, or "
                                         "one seed) at expertise 0.4, 1."),
    ((1.0, 0.9, 1.1), np.nan, "is undecided (95% CI across 0.8× or 1.2×, or one seed) at "
                              "expertise 0.4, 0.7, 1."),
])
def test_the_headline_says_what_the_ratios_intervals_say(ratios, half_widths, verdict):
  half_widths = np.broadcast_to(half_widths, len(ratios))
  head = pd.DataFrame(dict(env="hopper", algo="rfi", expertise=LEVELS, vs_best_expert=ratios,
                           vs_best_expert_ci_low=np.subtract(ratios, half_widths),
                           vs_best_expert_ci_high=np.add(ratios, half_widths)))
  sentence = report.headline_sentence(head)
  assert sentence.startswith("At the largest size, hopper RFI reaches "
                             + ", ".join(f"{r:.2f}" for r in ratios))
  assert verdict in sentence


P_LEVELS, PS = (0.4, 1.0), (5, 20, 100)


@pytest.fixture(scope="module")
def p_store(tmp_path_factory):
  """A sweep over the number of experts P at two levels, recorded before
  results carried `passes`."""
  workdir = tmp_path_factory.mktemp("diversity")
  write_store(workdir, np.random.default_rng(1), levels=P_LEVELS, num_policies=PS,
              passes=False)
  return workdir


def test_tables_carry_p_and_the_diversity_figure_draws_one_curve_per_level(p_store):
  df = results.load_results(p_store)
  assert sorted(df.num_policies.unique()) == list(PS)
  assert len(results.curves_table(p_store).groupby("num_policies")) == len(PS)
  assert set(results.conditioner_table(p_store).num_policies) == set(PS)
  fig = figures.performance_vs_diversity(df)
  axes = [ax for ax in fig.axes if ax.get_visible()]
  assert [ax.get_title() for ax in axes] == ["hopper RCI (66,048 params)",
                                             "hopper RFI (64,000 params)"]
  for ax in axes:
    assert ax.get_xscale() == "log"
    assert sorted(ax.get_legend_handles_labels()[1]) == ["best expert in the data", "e = 0.4",
                                                         "e = 1"]
    curves = [line for line in ax.get_lines() if line.get_marker() == "o"]
    best = [line for line in ax.get_lines() if line.get_linestyle() == "--"
            and len(line.get_xdata())]
    assert [list(line.get_xdata()) for line in curves] == [list(PS)] * len(P_LEVELS)
    for line, e in zip(curves, P_LEVELS):   # the law rises with P at every level
      assert np.all(np.diff(line.get_ydata()) > 0)
      assert line.get_ydata()[-1] == pytest.approx(1000 * e * (1 - 64_000 ** -0.3), rel=0.1)
    assert [set(line.get_ydata()) for line in best] == [{1000 * e} for e in P_LEVELS]
  figures.plt.close(fig)


def test_a_report_over_p_keeps_every_p_apart(p_store):
  out = report.write_report(p_store, holdout=1, n_bootstrap=0)
  text = out.path.read_text()
  folder = p_store / "report"
  assert "](performance_vs_diversity.png)" in text
  assert min(Image.open(folder / "performance_vs_diversity.png").size) > 300
  assert "## Performance at scale vs the number of experts" in text
  assert "P = 5, 20, 100 experts per dataset" in text
  for p in PS:   # figures 1-4 and the BNSL panels once per P, never one mixing them
    for stem in ("performance_vs_expertise", "size_vs_quality", "conditioning",
                 "training_curves", "bnsl_extrapolation"):
      assert f"]({stem}_P{p}.png)" in text and (folder / f"{stem}_P{p}.png").exists()
  assert not (folder / "size_vs_quality.png").exists()
  # The headline: one row per (algo, level, P), each against its own law.
  assert len(out.headline) == 2 * len(P_LEVELS) * len(PS)
  rfi = out.headline[(out.headline.algo == "rfi") & (out.headline.expertise == 1.0)]
  assert list(rfi.num_policies) == list(PS)
  assert rfi.vs_best_expert.to_numpy() == pytest.approx(
      [(1 - 64_000 ** -0.3) * (p / 100) ** 0.1 for p in PS], abs=0.02)
  assert "hopper RFI with P = 5 reaches" in text and "| hopper | rfi | 1 | 5 | 64,000 |" in text
  # The diversity table: the largest model's return at each P, the best expert.
  row = next(line for line in report.diversity_lines(results.load_results(p_store))
             if line.startswith("| hopper | rfi | 1 |"))
  cells = [c.strip() for c in row.strip("|").split("|")]
  assert len(cells) == 3 + len(PS) + 1 and cells[-1] == "1000.0"
  assert cells[3:-1] == [intervals.format_ci(*v) for v in
                         rfi[["eval_return", "return_ci_low", "return_ci_high"]].to_numpy()]
  # Records written before `passes` existed: NaN, printed as —, never guessed.
  assert out.headline.passes.isna().all() and results.summary_table(p_store).passes.isna().all()
  assert next(line for line in text.splitlines()
              if line.startswith("| hopper | rfi | 1 | 5 | 64,000 |")).endswith(" | — |")
  assert ("- hopper at expertise 0.4 has only 20 eligible experts: P = 100 took all 20, so "
          "every P ≥ 20 gives the same data.") in text
  assert "- hopper at expertise 1 has only 50 eligible experts: P = 100 took all 50" in text
  # One BNSL per (algo, level, P), named by its P.
  assert len(out.fits) == 2 * len(P_LEVELS) * len(PS)
  assert [e["group"]["num_policies"] for e in out.fits[:len(PS)]] == list(PS)   # in order
  assert (folder / "bnsl" / "env=hopper_algo=rfi_expertise=1.0_num_policies=5.png").exists()
  assert "Return vs parameters per (env, algo, expertise, P)" in text
  assert text.count("| hopper | rfi | 1 | 20 | ") >= 2   # the headline and the fit rows
  assert "num_policies" in (folder / "results.csv").read_text().splitlines()[0].split(",")


def test_a_report_leaves_no_figure_of_the_report_before_it(p_store, tmp_path):
  workdir = tmp_path / "workdir"   # a copy: the other tests see the P report
  shutil.copytree(p_store, workdir)
  report.write_report(workdir, holdout=1, n_bootstrap=0)
  one_p = set(results.load_results(workdir).query("num_policies == 100").run_id)
  report.write_report(workdir, holdout=1, n_bootstrap=0, run_ids=one_p)
  folder = workdir / "report"
  assert (folder / "size_vs_quality.png").exists()
  assert not list(folder.glob("*_P*.png")) and not (folder / "performance_vs_diversity.png").exists()
  assert not list((folder / "bnsl").glob("*num_policies*"))
  published = report.publish(folder, tmp_path / "pub").parent
  assert not list(published.glob("*_P*.png"))


def test_no_ratio_where_the_best_experts_value_is_not_positive():
  # HalfCheetah's low levels: the best experts' values are negative, and
  # -916 / -825 = 1.11 would read as "above the best expert".
  head = report.headline_table(pd.DataFrame(dict(
      env="halfcheetah", algo="rfi", expertise=(0.2, 0.4, 1.0), num_policies=100,
      param_count=319_437, eval_return=(-916.1, -28.7, 1911.3), eval_return_std=50.0,
      return_ci_low=(-950.0, -60.0, 1880.0), return_ci_high=(-880.0, 0.0, 1940.0), num_seeds=5,
      passes=0.5, best_expert_value=(-824.8, -54.6, 2004.3))))
  assert [report.format_ratio(r) for r in head.vs_best_expert] == ["—", "—", "0.95"]
  assert report.headline_sentence(head) == (
      "At the largest size, halfcheetah RFI reaches 0.95× the best expert's value at "
      "expertise 1 (-916 vs -825, -29 vs -55 at expertise 0.2, 0.4, where the best expert's "
      "value is ≤ 0 and a ratio says nothing): it tracks the best expert at every level with "
      "a ratio (95% CI within 0.8–1.2×).")
