"""The sweep report: figures, performance at scale vs the best expert, BNSL errors.

`write_report(workdir)` reads the finished runs under `<workdir>/runs/`,
draws the study's figures into `<workdir>/report/` (PNG + PDF), fits a BNSL
to return vs parameter count per (env, algo, expertise) with the largest
`holdout` sizes held out, and writes `<workdir>/report/report.md` and
`results.csv` (one row per run and conditioner), and judges the paper's
claims by their intervals (`claims`, `claims.csv`). `publish` copies what a
reader needs (markdown, PNGs, CSV) to a folder such as `docs/results/`.

When the runs hold more than one number of experts P (a sweep over
`num_policies`, the diversity axis), the report adds a section and a figure
of performance at scale vs P per expertise level, and everything else is
per P (`group_by`): the tables gain a P column, figures 1–4 are drawn once
per P (`<name>_P<P>.png`), and each BNSL fits one (env, algo, expertise, P).

Every mean over seeds is printed with its 95% CI (`intervals`), and every
claim the report makes (beyond the best expert, below it, tracking it; better
or worse after more training) is made only where the intervals say so
(`intervals.side`): `RULE` is the sentence the report prints about it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from typing import Collection

import pandas as pd
from etils import epath

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import claims, figures, fits, intervals, results

GROUP_BY = ["env", "algo", "expertise"]

RULE = ("Intervals are 95% percentile-bootstrap CIs of the mean over seeds (2,000 "
        "resamples of the seeds, seeded; none for a run of one seed). A claim holds only "
        "where its CI lies wholly on one side: a return against a multiple of the best "
        "expert's value, and half vs end of training by the CI of the mean paired gain "
        "over seeds against 0.")


def group_by(df: pd.DataFrame) -> list[str]:
  """`GROUP_BY`, and `num_policies` when `df` holds more than one number of
  experts P: no row, curve or fit of the report then mixes two values of P."""
  return GROUP_BY + (["num_policies"] if df["num_policies"].nunique() > 1 else [])


def _p_cell(show: bool, cell) -> str:
  """A markdown table's P cell (with its closing bar) when P varies, else ''."""
  return f" {cell} |" if show else ""


@dataclasses.dataclass
class Report:
  """Where the report lies, its headline table and its BNSL entries."""
  path: epath.Path
  headline: pd.DataFrame
  fits: list[dict]


def headline_table(df: pd.DataFrame) -> pd.DataFrame:
  """Per (env, algo, expertise) — and `num_policies` when P varies
  (`group_by`) — at the largest size: return ± std over seeds and its 95% CI
  (`return_ci_low`, `return_ci_high`), `num_seeds`, `passes`, the best
  expert's value and their ratio with the CI's ends divided by it
  (`vs_best_expert`, `_ci_low`, `_ci_high`): NaN where the best expert's value
  is ≤ 0 (HalfCheetah's low levels), as a ratio of returns of either sign says
  nothing."""
  keys = group_by(df)
  scale = figures.at_scale(df).sort_values(keys)
  out = scale[keys + ["param_count", "eval_return", "eval_return_std", "return_ci_low",
                      "return_ci_high", "num_seeds", "passes", "best_expert_value"]].copy()
  best = out["best_expert_value"].where(out["best_expert_value"] > 0)
  for ratio, column in (("vs_best_expert", "eval_return"),
                        ("vs_best_expert_ci_low", "return_ci_low"),
                        ("vs_best_expert_ci_high", "return_ci_high")):
    out[ratio] = out[column] / best
  return out.reset_index(drop=True)


def format_ratio(ratio: float) -> str:
  """A ratio to the best expert as printed: 0.95, or — where it is undefined."""
  return "—" if pd.isna(ratio) else f"{ratio:.2f}"


def format_passes(passes: float) -> str:
  """Passes over the data as printed: 0.42, or — for a run recorded before
  results carried them."""
  return "—" if pd.isna(passes) else f"{passes:.2f}"


def _return_cell(r) -> str:
  """A headline row's return with its 95% CI (`intervals.format_ci`)."""
  return intervals.format_ci(r.eval_return, r.return_ci_low, r.return_ci_high)


def _ratio_cell(r) -> str:
  """A headline row's ratio to the best expert with its 95% CI: `0.95 [0.92, 0.97]`,
  `0.95 [—]` without a CI (one seed), — without a ratio."""
  if pd.isna(r.vs_best_expert):
    return "—"
  if pd.isna(r.vs_best_expert_ci_low):
    return f"{r.vs_best_expert:.2f} [—]"
  return f"{r.vs_best_expert:.2f} [{r.vs_best_expert_ci_low:.2f}, {r.vs_best_expert_ci_high:.2f}]"


def _verdict(g: pd.DataFrame) -> str:
  """What one (env, algo)'s ratios to the best expert say, level by level,
  judged by their 95% CIs (`claims.judge_ratio`)."""
  rated = g[g.vs_best_expert.notna()]
  judged = {}
  for e, low, high in zip(rated.expertise, rated.vs_best_expert_ci_low,
                          rated.vs_best_expert_ci_high):
    judged.setdefault(claims.judge_ratio(low, high), []).append(f"{e:g}")
  lo, hi = claims.TRACKS
  band = f"{lo:g}–{hi:g}×"
  if set(judged) == {"tracks"}:
    where = "every level" if g.vs_best_expert.notna().all() else "every level with a ratio"
    return f"tracks the best expert at {where} (95% CI within {band})"
  texts = {"above": f"exceeds the best expert by more than {hi:g}× at expertise ",
           "below": f"falls below {lo:g}× of the best expert at expertise ",
           "tracks": f"tracks it (95% CI within {band}) at expertise ",
           "undecided": f"is undecided (95% CI across {lo:g}× or {hi:g}×, or "
                        "one seed) at expertise "}
  return " and ".join(texts[k] + ", ".join(judged[k]) for k in texts if k in judged)


def headline_sentence(head: pd.DataFrame) -> str:
  """One sentence: performance at scale against the best expert, per level,
  and what its 95% CI says (`_verdict`, `claims.TRACKS`); per P too when `head` has a
  P column. Levels without a ratio (best expert's value ≤ 0) are given as
  return vs value."""
  parts = []
  keys = ["env", "algo"] + (["num_policies"] if "num_policies" in head else [])
  for key, g in head.groupby(keys):
    g = g.sort_values("expertise")
    rated, unrated = g[g.vs_best_expert.notna()], g[g.vs_best_expert.isna()]
    p = f" with P = {key[2]}" if len(key) > 2 else ""
    text = f"{key[0]} {key[1].upper()}{p} reaches "
    if len(rated):
      text += (f"{', '.join(f'{r:.2f}' for r in rated.vs_best_expert)}× the best expert's "
               f"value at expertise {', '.join(f'{e:g}' for e in rated.expertise)}")
    if len(unrated):
      pairs = ", ".join(f"{r:,.0f} vs {b:,.0f}"
                        for r, b in zip(unrated.eval_return, unrated.best_expert_value))
      levels = ", ".join(f"{e:g}" for e in unrated.expertise)
      aside = (f"{pairs} at expertise {levels}, where the best expert's value is ≤ 0 and "
               "a ratio says nothing")
      text += f" ({aside})" if len(rated) else aside
    parts.append(text + (f": it {_verdict(g)}" if len(rated) else ""))
  return "At the largest size, " + "; ".join(parts) + "."


def gains_summary(gains: pd.DataFrame) -> list[str]:
  """Markdown lines: how many (run, conditioner) pairs improved from half to the
  end of training and how many got worse, each by the 95% CI of the mean
  paired gain over seeds (`results.training_gains`), and a table of the worse."""
  if not len(gains):
    return ["No run has intermediate evaluations (set `train.eval_every`)."]
  lines = [f"Of {len(gains)} (run, conditioner) pairs, {int(gains.improved.sum())} improved "
           "from half to the end of training (the 95% CI of the mean gain over seeds lies "
           f"above 0), {int(gains.worsened.sum())} got worse (it lies below 0), and for the "
           "rest the CI holds 0 (or the run has one seed): no change is shown.", ""]
  show_p = gains["num_policies"].nunique() > 1
  worse = gains[gains.worsened].sort_values(["algo", "expertise", "num_policies", "param_count",
                                             "conditioner"])
  if len(worse):
    lines += ["| algo | expertise |" + _p_cell(show_p, "P") + " parameters | c | "
              "return at half | at the end | gain [95% CI] |",
              "|---|---:|" + _p_cell(show_p, "---:") + "---:|---:|---:|---:|---:|"]
    lines += [f"| {r.algo} | {r.expertise:g} |" + _p_cell(show_p, r.num_policies)
              + f" {int(r.param_count):,} | "
              f"{'' if pd.isna(r.conditioner) else f'{r.conditioner:g}'} | "
              f"{r.half_return:.1f} | {r.final_return:.1f} | "
              f"{intervals.format_ci(r.gain, r.gain_ci_low, r.gain_ci_high)} |"
              for r in worse.itertuples()]
  return lines


def _sizes(df: pd.DataFrame) -> str:
  """The grid's sizes: nominal parameter counts (MLPs) or width multipliers (CNNs)."""
  if (df["domain"] == "atari").all():
    return "Impala widths " + ", ".join(f"×{w:g}" for w in sorted(df["size"].unique()))
  return "sizes " + ", ".join(f"{int(n):,}" for n in sorted(df["size"].unique())) + " parameters"


def _seed_records(df: pd.DataFrame, keys: list[str]) -> list[dict]:
  """One record per (run, seed) with the `keys` fields of its point (Python
  scalars, for the fits' JSON) and that seed's return."""
  return [dict(**point, param_count=n, eval_return=ret)
          for point, n, seeds in zip(df[keys].to_dict("records"), df["param_count"],
                                     df["seed_returns"])
          for ret in seeds]


def _fit_rows(entries: list[dict], show_p: bool) -> list[str]:
  """Markdown rows, one per held-out size of each fit; a fit on no more sizes than
  parameters shows `fits.TOO_FEW_SIZES` instead of a prediction and its error."""
  lines = ["| env | algo | expertise |" + _p_cell(show_p, "P") + " k | train RMSLE | "
           "held-out size | observed | predicted | held-out RMSLE |",
           "|---|---|---:|" + _p_cell(show_p, "---:") + "---:|---:|---:|---:|---:|---:|"]
  for e in entries:
    g = e["group"]
    head = (f"| {g['env']} | {g['algo']} | {g['expertise']:g} |"
            + _p_cell(show_p, g.get("num_policies")))
    if "error" in e:
      lines.append(f"{head} not fitted: {e['error']} |||||")
      continue
    for p in (p for p in e["per_x"] if p["held_out"]):
      shown = (f"{p['predicted']:.1f} | {e['holdout_rmsle']:.3f}" if e["can_extrapolate"]
               else f"{fits.TOO_FEW_SIZES} | –")
      lines.append(f"{head} {e['n_breaks']} | {e['train_rmsle']:.3f} | {int(p['x']):,} | "
                   f"{p['mean_y']:.1f} | {shown} |")
  return lines


def diversity_lines(df: pd.DataFrame) -> list[str]:
  """Markdown for runs that vary P: the largest model's return (mean over
  seeds [95% CI]) at each P per (env, algo, expertise) with the level's best
  expert, and the levels with fewer eligible experts than some P asked for."""
  scale = figures.at_scale(df)
  ps = sorted(scale["num_policies"].unique())
  lines = ["| env | algo | expertise | " + " | ".join(f"P = {p}" for p in ps)
           + " | best expert |", "|---|---|---:|" + "---:|" * (len(ps) + 1)]
  for (env, algo, e), g in scale.groupby(GROUP_BY):
    at = g.set_index("num_policies")
    cells = [intervals.format_ci(at.eval_return[p], at.return_ci_low[p], at.return_ci_high[p])
             if p in at.index else "–" for p in ps]
    lines.append(f"| {env} | {algo} | {e:g} | " + " | ".join(cells)
                 + f" | {g.best_expert_value.max():.1f} |")
  short = df[df["num_policies_selected"] < df["num_policies"]]
  if len(short):
    lines.append("")
  for (env, e), g in short.groupby(["env", "expertise"]):
    n = int(g.num_policies_selected.max())
    asked = ", ".join(str(p) for p in sorted(g["num_policies"].unique()))
    lines.append(f"- {env} at expertise {e:g} has only {n} eligible experts: P = {asked} "
                 f"took all {n}, so every P ≥ {n} gives the same data.")
  return lines


def _standard_figures(df: pd.DataFrame, cond: pd.DataFrame, curves: pd.DataFrame,
                      entries: list[dict], out: epath.Path, p: int | None
                      ) -> list[tuple[str, epath.Path]]:
  """Figures 1–4 and 7 (the BNSL fits, `entries`) of `figures`, (title, PNG)
  each: of every run (`p` None), or of the runs with P = `p`, each title and
  file name then saying so."""
  if p is not None:
    df, cond, curves = (t[t["num_policies"] == p] for t in (df, cond, curves))
    entries = [e for e in entries if e["group"]["num_policies"] == p]
  drawn = [("Performance at scale vs expertise", "performance_vs_expertise",
            figures.performance_vs_expertise(df)),
           ("Model size vs data quality", "size_vs_quality", figures.size_vs_quality(df))]
  if len(cond):
    drawn.append(("RCI conditioning", "conditioning", figures.conditioning(cond)))
  if len(curves):
    drawn.append(("Scaling over training", "training_curves", figures.training_curves(curves)))
  drawn.append(("BNSL extrapolation", "bnsl_extrapolation", figures.bnsl_extrapolation(entries)))
  if p is None:
    return [(title, figures.save(fig, out, stem)) for title, stem, fig in drawn]
  for *_, fig in drawn:
    fig.suptitle(f"{fig.get_suptitle()}, P = {p}")
  return [(f"{title}, P = {p}", figures.save(fig, out, f"{stem}_P{p}"))
          for title, stem, fig in drawn]


def write_report(workdir: str | epath.Path, holdout: int = 1, n_bootstrap: int = 100,
                 seed: int = 0, run_ids: Collection[str] | None = None) -> Report:
  """Draws the figures, fits the BNSLs and writes `report.md`; returns the Report.

  `run_ids` restricts the report to those runs (default: every finished run
  under `<workdir>/runs/`).
  """
  workdir = epath.Path(workdir)
  out = workdir / "report"
  df = results.load_results(workdir, run_ids)
  table = results.summary_table(workdir, run_ids)
  cond = results.rci_rows(table)
  curves = results.curves_table(workdir, run_ids)
  keys = group_by(df)
  show_p = "num_policies" in keys
  ps = sorted(df["num_policies"].unique())
  out.mkdir(parents=True, exist_ok=True)
  # A workdir can hold several sweeps (e.g. a P sweep beside the grid it
  # extends): the figures of the report written before must not outlive it
  # here, nor be published with this one.
  for stale in [*out.glob("*.png"), *out.glob("*.pdf"), *out.glob("bnsl/*")]:
    stale.unlink()
  # The game score is a column of its own only where returns are clipped (Atari).
  raw_only = ["value_unit", "raw_return_mean"] if (table.value_unit == "raw").all() else []
  table.drop(columns=["run_id", *raw_only]).to_csv(out / "results.csv", index=False,
                                                   float_format="%.6g")
  drawn = []
  if show_p:
    drawn.append(("Performance at scale vs the number of experts",
                  figures.save(figures.performance_vs_diversity(df), out,
                               "performance_vs_diversity")))
  fit_dir = out / "bnsl"
  fit_dir.mkdir(parents=True, exist_ok=True)
  groups = fits.group_records(_seed_records(df, keys), "param_count", "eval_return", keys)
  entries = fits.fit_groups(groups, keys, fit_dir, x_label="parameters",
                            y_label="return", holdout=holdout, n_breaks=None, max_breaks=2,
                            n_bootstrap=n_bootstrap, band_level=0.9, seed=seed)
  entries.sort(key=lambda e: tuple(e["group"][k] for k in keys))   # P numerically
  (fit_dir / "fits.json").write_text(json.dumps(entries, indent=1))
  for p in ps if show_p else [None]:
    drawn += _standard_figures(df, cond, curves, entries, out, p)

  head = headline_table(df)
  experts = f"; P = {', '.join(map(str, ps))} experts per dataset" if show_p else ""
  lines = [f"# Study report: {workdir}", "",
           f"{len(df)} finished runs; envs {', '.join(sorted(df['env'].unique()))}; "
           f"algorithms {', '.join(sorted(df['algo'].unique()))}; {_sizes(df)}{experts}; "
           f"{int(df['config.train.num_seeds'].max())} seeds per run; "
           f"{int(df['steps'].max()):,} updates. Every number: `results.csv`.", "",
           headline_sentence(head), "", RULE, "",
           "## Performance at scale vs the best expert", "",
           "Largest model, end of training; return = mean over seeds [95% CI]; RCI at "
           "c = 1; the ratio's CI is the return's divided by the best expert's value; "
           "passes = samples drawn per seed ÷ distinct transitions in the data (— where "
           "the run predates the record).", "",
           "| env | algo | expertise |" + _p_cell(show_p, "P")
           + " parameters | seeds | return [95% CI] | best expert | ratio [95% CI] | passes |",
           "|---|---|---:|" + _p_cell(show_p, "---:") + "---:|---:|---:|---:|---:|---:|"]
  lines += [f"| {r.env} | {r.algo} | {r.expertise:g} |"
            + _p_cell(show_p, getattr(r, "num_policies", ""))
            + f" {int(r.param_count):,} | {int(r.num_seeds)} | {_return_cell(r)} | "
            f"{r.best_expert_value:.1f} | {_ratio_cell(r)} | {format_passes(r.passes)} |"
            for r in head.itertuples()]
  if show_p:
    lines += ["", "## Performance at scale vs the number of experts", "",
              "The runs vary the number of experts P each dataset is sub-sampled to (evenly "
              "along the level's value ordering); every table, figure and BNSL fit of this "
              "report is per P, none mixes two. The largest model's return at each P (the "
              "figure *Performance at scale vs the number of experts* draws it):", ""]
    lines += diversity_lines(df)
  gains = results.training_gains(curves)
  lines += ["", "## More training", ""] + gains_summary(gains)
  lines += ["", "## The paper's claims", ""]
  if show_p:
    lines.append("Not judged: the runs vary P, and the claims compare runs at one P.")
  else:
    judged = claims.judge(df, curves, entries, gains)
    judged.to_csv(out / "claims.csv", index=False)
    lines += ["Each claim judged by its 95% intervals (`study.claims`): **holds** where every "
              "comparison goes its way, **partly** where some do, **does not hold** where "
              "none does and one goes against it, **undecided** where none is decided.", ""]
    lines += claims.markdown(judged)
  per = ", ".join("P" if k == "num_policies" else k for k in keys)
  lines += ["", "## BNSL extrapolation", "",
            f"Return vs parameters per ({per}), fitted without the largest "
            f"{holdout} size(s); errors in symlog space (RMSLE).", ""]
  lines += _fit_rows(entries, show_p)
  lines += ["", "## Figures", ""]
  lines += [f"### {title}\n\n![{title}]({png.relative_to(out)})\n" for title, png in drawn]
  lines += ["### BNSL fits\n"] + [f"![{e['figure']}](bnsl/{e['figure']})\n" for e in entries
                                  if "figure" in e]
  path = out / "report.md"
  path.write_text("\n".join(lines) + "\n")
  return Report(path, head, entries)


def write_sweep_report(sweep, workdir: str | epath.Path, done: list[dict]) -> Report:
  """`write_report` of a sweep's finished points (`done`: `sweep.run_sweep`'s
  results) with the sweep's fit settings (`sweep.fit`)."""
  return write_report(workdir, holdout=sweep.fit.holdout, n_bootstrap=sweep.fit.n_bootstrap,
                      run_ids={r["run_id"] for r in done})


def publish(report_dir: str | epath.Path, dest: str | epath.Path) -> epath.Path:
  """Copies a report's markdown, PNG figures and CSV tables (no PDFs, no
  fit JSON) to `dest`, keeping the relative layout its links use."""
  src, dest = epath.Path(report_dir), epath.Path(dest)
  if not (src / "report.md").exists():
    raise OfflineScalingError(f"{src / 'report.md'} does not exist: write the report first")
  for f in [src / "report.md", *src.glob("*.csv"), *src.glob("*.png"),
            *src.glob("bnsl/*.png")]:
    target = dest / f.relative_to(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(f, target)
  return dest / "report.md"
