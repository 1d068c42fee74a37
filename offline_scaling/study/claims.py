"""The paper's claims about one sweep, each judged by its 95% intervals.

`judge(df, curves, entries)` reads a report's tables (`results.load_results`,
`results.curves_table`, the BNSL entries of `fits.fit_groups`) and returns one
row per (env, claim, algo): what was measured, the counts behind it, and a
verdict. A comparison counts only where its interval says so
(`intervals.side`); a claim over several comparisons (levels, pairs, fits)
**holds** when every one of them goes its way, **partly** when some do,
**does not hold** when none does and at least one goes against it, and is
**undecided** when none is decided either way.

The claims, as the paper states them (Table 1 and Figures 1–5), and what is
compared for each:

* (a) performance at scale tracks the best expert at every level: the largest
  model's return over the level's best expert's value, its CI within
  `TRACKS` (per algo, per level).
* (b) RCI sometimes slightly exceeds the best expert; neither algorithm does so
  consistently: the same ratio's CI wholly above 1 (per algo: at how many levels).
* (c) almost all runs improve with more training: half vs end of training,
  the CI of each (run, conditioner)'s mean paired gain over seeds
  (`results.training_gains`).
* (d) one expertise level is worth more than orders of magnitude of size: the
  smallest model one level up against the largest model at this level, by
  the CI of the difference of their means (seeds independent).
* (e) RCI conditioned within the data behaves as asked, above it collapses:
  at the largest size, the paired gain from the lowest conditioner to the
  highest below 1 (CI above 0) and from there to the highest (CI below 0),
  per level. The pivot is not c = 1: c = 1 asks for the data's single best
  trajectory, above every expert's mean, and sits on an edge of the paper's
  return code (`nets.return_embedding.flipped_bits`). It is c = 1 only where
  fewer than two conditioners lie below 1.
* (f) a BNSL fitted on the smaller sizes extrapolates to the held-out largest:
  the prediction inside the held-out point's 95% CI, per (algo, level).

On Atari and MinAtar (the paper's Section 5.2; `domain` "atari" or "minatar"),
returns and values in one unit (`value_unit`):

* (g) CQL exceeds the best expert at low expertise: at the largest width, the
  ratio's CI wholly above 1 at every level ≤ `LOW`.
* (h) at high expertise it does not, however wide: at every width and level ≥
  `HIGH`, the ratio's CI wholly below 1 goes the claim's way, wholly above it
  against.
* (i) RCI's asymptote does not consistently rise with expertise: at the largest
  width, each step up a level by the CI of the difference of means; it holds
  when one step falls, does not hold when every step rises.
* (j) as (f), over width.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from offline_scaling.study import figures, intervals, results

# A ratio to the best expert whose 95% CI lies within this band "tracks the best expert".
TRACKS = (0.8, 1.2)

# Atari/MinAtar levels that are "low" (claim g) and "high" (claim h).
LOW, HIGH = 0.5, 0.75
FRAME_DOMAINS = ("atari", "minatar")

COLUMNS = ["env", "claim", "algo", "measured", "for_", "against", "compared", "verdict"]


def judge_ratio(low: float, high: float) -> str:
  """One level's ratio CI against `TRACKS` (`intervals.side`): "above", "below",
  "tracks", or "undecided" where the CI straddles a bound or is NaN (one seed)."""
  over, under = intervals.side(low, high, TRACKS[1]), intervals.side(low, high, TRACKS[0])
  if over > 0:
    return "above"
  if under < 0:
    return "below"
  return "tracks" if (over < 0 and under > 0) else "undecided"


def verdict(for_: int, against: int, compared: int) -> str:
  """The rule of the module docstring over `compared` comparisons, `for_` of
  which go the claim's way and `against` the other way (the rest undecided)."""
  if compared and for_ == compared:
    return "holds"
  if for_:
    return "partly"
  return "does not hold" if against else "undecided"


def _row(env, claim, algo, measured, for_, against, compared) -> dict:
  return dict(env=env, claim=claim, algo=algo, measured=measured, for_=for_, against=against,
              compared=compared, verdict=verdict(for_, against, compared))


def _with_ratio(df: pd.DataFrame) -> pd.DataFrame:
  """`df`'s rows with a positive best expert's value, with the ratio's CI
  (`ratio_low`, `ratio_high`), by expertise and size."""
  best = df["best_expert_value"].where(df["best_expert_value"] > 0)
  out = df.assign(ratio_low=df.return_ci_low / best, ratio_high=df.return_ci_high / best)
  return out[best.notna()].sort_values(["expertise", "param_count"])


def _at_scale(df: pd.DataFrame) -> pd.DataFrame:
  """The largest model's rows of each (env, algo) (`figures.at_scale`), with the ratio's CI."""
  return _with_ratio(figures.at_scale(df))


def _level_steps(pairs) -> tuple[list[str], list[int]]:
  """For [(label, seeds one level up, seeds at the level)]: the cells
  'label: mean difference [95% CI]' (`intervals.diff_ci`, independent seeds)
  and each difference's side of 0 (`intervals.side`)."""
  cells, sides = [], []
  for label, up, at in pairs:
    up, at = np.asarray(up), np.asarray(at)
    low, high = intervals.diff_ci(up, at)
    sides.append(intervals.side(low, high, 0.0))
    cells.append(f"{label}: {intervals.format_ci(up.mean() - at.mean(), low, high)}")
  return cells, sides


def _levels(values) -> str:
  return ", ".join(f"{v:g}" for v in values) or "none"


def claim_a(df: pd.DataFrame) -> list[dict]:
  """(a), per (env, algo): levels whose ratio CI lies within `TRACKS`."""
  rows = []
  for (env, algo), g in _at_scale(df).groupby(["env", "algo"]):
    judged = [judge_ratio(lo, hi) for lo, hi in zip(g.ratio_low, g.ratio_high)]
    cells = ", ".join(f"{r:.2f} [{lo:.2f}, {hi:.2f}]" for r, lo, hi in
                      zip(g.eval_return / g.best_expert_value, g.ratio_low, g.ratio_high))
    measured = (f"return / best expert at e = {_levels(g.expertise)}: {cells}; tracks "
                f"({TRACKS[0]:g}–{TRACKS[1]:g}×) at "
                f"{_levels(e for e, j in zip(g.expertise, judged) if j == 'tracks')}")
    rows.append(_row(env, "a", algo, measured, judged.count("tracks"),
                     judged.count("above") + judged.count("below"), len(judged)))
  return rows


def claim_b(df: pd.DataFrame) -> list[dict]:
  """(b), per env: RCI's ratio CI wholly above 1 at one level or more, and no
  algorithm's at every level."""
  rows = []
  for env, g in _at_scale(df).groupby("env"):
    above = {algo: list(a.expertise[a.ratio_low > 1]) for algo, a in g.groupby("algo")}
    levels = {algo: len(a) for algo, a in g.groupby("algo")}
    rci_sometimes = bool(above.get("rci"))
    none_always = all(len(above[a]) < levels[a] for a in above)
    measured = "; ".join(f"{a.upper()} above 1× (95% CI) at e = {_levels(above[a])} of "
                         f"{levels[a]} levels" for a in sorted(above))
    for_ = int(rci_sometimes) + int(none_always)
    rows.append(_row(env, "b", "", measured, for_, 2 - for_, 2))
  return rows


def claim_c(gains: pd.DataFrame) -> list[dict]:
  """(c), per (env, algo): (run, conditioner) pairs better at the end than at
  half of training (`results.training_gains`)."""
  rows = []
  if not len(gains):   # no run has two evaluations
    return rows
  for (env, algo), g in gains.groupby(["env", "algo"]):
    up, down = int(g.improved.sum()), int(g.worsened.sum())
    measured = (f"of {len(g)} (run, conditioner) pairs, {up} improved from half to the end "
                f"of training, {down} got worse, {len(g) - up - down} show no change "
                "(95% CI of the paired gain holds 0)")
    rows.append(_row(env, "c", algo, measured, up, down, len(g)))
  return rows


def claim_d(df: pd.DataFrame) -> list[dict]:
  """(d), per (env, algo): the smallest model one level up minus the largest at
  this level, by the CI of the difference of means (independent seeds)."""
  rows = []
  for (env, algo), g in df.groupby(["env", "algo"]):
    small, large = g.param_count.min(), g.param_count.max()
    if small == large:   # one size: nothing to weigh a level against
      continue
    levels = sorted(g.expertise.unique())
    seeds = g.set_index(["expertise", "param_count"]).seed_returns
    # A sweep still running may lack a step's two points: that step is not weighed yet.
    steps = [(lo, hi) for lo, hi in zip(levels, levels[1:])
             if (hi, small) in seeds.index and (lo, large) in seeds.index]
    if not steps:
      continue
    cells, sides = _level_steps((f"{lo:g}→{hi:g}", seeds[(hi, small)], seeds[(lo, large)])
                                for lo, hi in steps)
    measured = (f"return of {small:,} params one level up minus {large:,} params at the level "
                f"(×{large / small:.0f} the parameters): " + "; ".join(cells))
    rows.append(_row(env, "d", algo, measured, sides.count(1), sides.count(-1), len(sides)))
  return rows


def claim_e(curves: pd.DataFrame) -> list[dict]:
  """(e), per env: RCI at the largest size, the paired gain from the lowest
  conditioner to the pivot (rises as asked) and from the pivot to the highest
  (collapses); the pivot is the highest c below 1, or 1 (module docstring)."""
  rows = []
  rci = curves[(curves.algo == "rci") & curves.conditioner.notna()]
  if not len(rci):
    return rows
  rci = rci[rci.step == rci.groupby("run_id").step.transform("max")]
  rci = rci[rci.param_count == rci.groupby("env").param_count.transform("max")]
  for env, g in rci.groupby("env"):
    cs = sorted(g.conditioner.unique())
    below = [c for c in cs if c < 1.0]
    top = below[-1] if len(below) >= 2 else 1.0
    if top not in cs or len(cs) < 3:
      continue
    cells, rises, falls = [], [], []
    for e, run in g.groupby("expertise"):
      by_c = {c: r.sort_values("seed")["return"].to_numpy() for c, r in run.groupby("conditioner")}
      up, down = by_c[top] - by_c[cs[0]], by_c[cs[-1]] - by_c[top]
      ci_up, ci_down = intervals.mean_ci(up), intervals.mean_ci(down)
      rises.append(intervals.side(*ci_up, 0.0))
      falls.append(-intervals.side(*ci_down, 0.0))
      cells.append(f"e = {e:g}: c {cs[0]:g}→{top:g} {intervals.format_ci(up.mean(), *ci_up)}, "
                   f"{top:g}→{cs[-1]:g} {intervals.format_ci(down.mean(), *ci_down)}")
    sides = rises + falls
    measured = (f"RCI at {int(g.param_count.max()):,} params, paired gain in return "
                f"(rises as asked at {rises.count(1)} of {len(rises)} levels, collapses "
                f"above at {falls.count(1)}): " + "; ".join(cells))
    rows.append(_row(env, "e", "rci", measured, sides.count(1), sides.count(-1), len(sides)))
  return rows


def claim_f(df: pd.DataFrame, entries: list[dict]) -> list[dict]:
  """(f), per (env, algo): fits whose prediction at the held-out size lies in
  that run's 95% CI (fits that cannot extrapolate are not compared)."""
  rows, by = [], {}
  for e in entries:
    g = e["group"]
    if "error" in e or not e.get("can_extrapolate"):
      continue
    for p in (p for p in e["per_x"] if p["held_out"]):
      run = df[(df.env == g["env"]) & (df.algo == g["algo"]) & (df.expertise == g["expertise"])
               & (df.param_count == int(p["x"]))]
      if len(run):
        r = run.iloc[0]
        inside = r.return_ci_low <= p["predicted"] <= r.return_ci_high
        by.setdefault((g["env"], g["algo"]), []).append(
            (g["expertise"], p["predicted"], r.eval_return, r.return_ci_low, r.return_ci_high,
             inside))
  for (env, algo), fits in sorted(by.items()):
    cells = "; ".join(f"e = {e:g}: {pred:,.0f} vs {obs:,.0f} [{lo:,.0f}, {hi:,.0f}]"
                      for e, pred, obs, lo, hi, _ in fits)
    hits = sum(f[-1] for f in fits)
    measured = (f"predicted vs observed [95% CI] at the held-out size; inside at "
                f"{hits} of {len(fits)}: {cells}")
    rows.append(_row(env, "f", algo, measured, hits, len(fits) - hits, len(fits)))
  return rows


def _vs_one(rows: pd.DataFrame) -> list[int]:
  """Each row's ratio CI against 1 (`intervals.side`): +1 above, −1 below, 0 across."""
  return [intervals.side(lo, hi, 1.0) for lo, hi in zip(rows.ratio_low, rows.ratio_high)]


def _ratios(rows: pd.DataFrame) -> str:
  return "; ".join(f"e = {e:g}, ×{w:g}: {r:.2f} [{lo:.2f}, {hi:.2f}]" for e, w, r, lo, hi in
                   zip(rows.expertise, rows["size"], rows.eval_return / rows.best_expert_value,
                       rows.ratio_low, rows.ratio_high))


def claim_g(df: pd.DataFrame) -> list[dict]:
  """(g), per env: CQL's largest width above the best expert at every level ≤ `LOW`."""
  rows = []
  for env, g in _at_scale(df[df.algo == "cql"]).groupby("env"):
    low = g[g.expertise <= LOW]
    sides = _vs_one(low)
    measured = "CQL at the largest width, return / best expert: " + _ratios(low)
    rows.append(_row(env, "g", "cql", measured, sides.count(1), sides.count(-1), len(sides)))
  return rows


def claim_h(df: pd.DataFrame) -> list[dict]:
  """(h), per env: CQL below the best expert at every width and level ≥ `HIGH`."""
  rows = []
  for env, g in df[(df.algo == "cql") & (df.expertise >= HIGH)].groupby("env"):
    high = _with_ratio(g)
    sides = _vs_one(high)
    measured = "CQL at every width, return / best expert: " + _ratios(high)
    rows.append(_row(env, "h", "cql", measured, sides.count(-1), sides.count(1), len(sides)))
  return rows


def claim_i(df: pd.DataFrame) -> list[dict]:
  """(i), per env: RCI's largest width one level up minus this level (CI of the
  difference); one step that falls is enough, every step rising refutes it."""
  rows = []
  for env, g in _at_scale(df[df.algo == "rci"]).groupby("env"):
    steps = list(zip(g.expertise, g.seed_returns))
    cells, sides = _level_steps((f"{lo_e:g}→{hi_e:g}", hi, lo)
                                for (lo_e, lo), (hi_e, hi) in zip(steps, steps[1:]))
    falls, rises = sides.count(-1), sides.count(1)
    row = _row(env, "i", "rci", "RCI at the largest width, return one level up minus at the "
               "level: " + "; ".join(cells), falls, rises, len(sides))
    row["verdict"] = ("holds" if falls else
                      "does not hold" if sides and rises == len(sides) else "undecided")
    rows.append(row)
  return rows


def judge(df: pd.DataFrame, curves: pd.DataFrame, entries: list[dict],
          gains: pd.DataFrame | None = None) -> pd.DataFrame:
  """Every claim of the module docstring, one row per (env, claim, algo), in
  `COLUMNS` (`for_`/`against`: comparisons that go the claim's way / the other
  way; `compared`: all of them): (a)–(f) for PyBullet, (g)–(j) for Atari and
  MinAtar. `df`: `results.load_results`; `curves`: `results.curves_table`;
  `entries`: the BNSL fits (`fits.fit_groups`); `gains`:
  `results.training_gains(curves)` where the caller has it already."""
  if df["domain"].isin(FRAME_DOMAINS).all():
    rows = (claim_g(df) + claim_h(df) + claim_i(df)
            + [dict(r, claim="j") for r in claim_f(df, entries)])
  else:
    gains = results.training_gains(curves) if gains is None else gains
    rows = (claim_a(df) + claim_b(df) + claim_c(gains) + claim_d(df) + claim_e(curves)
            + claim_f(df, entries))
  return pd.DataFrame(rows, columns=COLUMNS).sort_values(["env", "claim", "algo"],
                                                         ignore_index=True)


def by_env(table: pd.DataFrame) -> list[str]:
  """Markdown lines: `judge`'s verdicts with a column per env, a row per (claim,
  algo) ('–' where an env has no such row)."""
  envs = sorted(table.env.unique())
  wide = table.pivot_table(index=["claim", "algo"], columns="env", values="verdict",
                           aggfunc="first").reindex(columns=envs)
  lines = ["| claim | algo | " + " | ".join(envs) + " |", "|---|---|" + "---|" * len(envs)]
  lines += [f"| ({claim}) | {algo.upper() or '–'} | "
            + " | ".join("–" if pd.isna(v) else f"**{v}**" for v in row) + " |"
            for (claim, algo), row in zip(wide.index, wide.to_numpy())]
  return lines


def markdown(table: pd.DataFrame) -> list[str]:
  """Markdown lines: the claims table of `judge`, one row per (env, claim, algo);
  preceded by `by_env` when it holds more than one env."""
  lines = by_env(table) + [""] if table.env.nunique() > 1 else []
  lines += ["| env | claim | algo | measured | verdict |", "|---|---|---|---|---|"]
  lines += [f"| {r.env} | ({r.claim}) | {r.algo.upper() or '–'} | {r.measured} | "
            f"**{r.verdict}** |" for r in table.itertuples()]
  return lines
