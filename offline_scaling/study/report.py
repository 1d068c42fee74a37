"""The sweep report: figures, performance at scale vs the best expert, BNSL errors.

`write_report(workdir)` reads the finished runs under `<workdir>/runs/`,
draws the study's figures into `<workdir>/report/` (PNG + PDF), fits a BNSL
to return vs parameter count per (env, algo, expertise) with the largest
`holdout` sizes held out, and writes `<workdir>/report/report.md`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Collection

import pandas as pd
from etils import epath

from offline_scaling.study import figures, fits, results

GROUP_BY = ["env", "algo", "expertise"]


@dataclasses.dataclass
class Report:
  """Where the report lies, its headline table and its BNSL entries."""
  path: epath.Path
  headline: pd.DataFrame
  fits: list[dict]


def headline_table(df: pd.DataFrame) -> pd.DataFrame:
  """Per (env, algo, expertise) at the largest size: return ± std over seeds,
  the best expert's value and their ratio."""
  scale = figures.at_scale(df).sort_values(GROUP_BY)
  out = scale[GROUP_BY + ["param_count", "eval_return", "eval_return_std",
                          "best_expert_value"]].copy()
  out["vs_best_expert"] = out["eval_return"] / out["best_expert_value"]
  return out.reset_index(drop=True)


def _sizes(df: pd.DataFrame) -> str:
  """The grid's sizes: nominal parameter counts (MLPs) or width multipliers (CNNs)."""
  if (df["domain"] == "atari").all():
    return "Impala widths " + ", ".join(f"×{w:g}" for w in sorted(df["size"].unique()))
  return "sizes " + ", ".join(f"{int(n):,}" for n in sorted(df["size"].unique())) + " parameters"


def _seed_records(df: pd.DataFrame) -> list[dict]:
  """One record per (run, seed) with the point's fields and that seed's return."""
  return [dict(**{k: row[k] for k in GROUP_BY}, param_count=row["param_count"],
               eval_return=ret)
          for _, row in df.iterrows() for ret in row["seed_returns"]]


def _fit_rows(entries: list[dict]) -> list[str]:
  lines = ["| env | algo | expertise | k | train RMSLE | held-out size | observed | "
           "predicted | held-out RMSLE |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
  for e in entries:
    g = e["group"]
    head = f"| {g['env']} | {g['algo']} | {g['expertise']:g} |"
    if "error" in e:
      lines.append(f"{head} not fitted: {e['error']} |||||")
      continue
    for p in (p for p in e["per_x"] if p["held_out"]):
      lines.append(f"{head} {e['n_breaks']} | {e['train_rmsle']:.3f} | {int(p['x']):,} | "
                   f"{p['mean_y']:.1f} | {p['predicted']:.1f} | {e['holdout_rmsle']:.3f} |")
  return lines


def write_report(workdir: str | epath.Path, holdout: int = 1, n_bootstrap: int = 100,
                 seed: int = 0, run_ids: Collection[str] | None = None) -> Report:
  """Draws the figures, fits the BNSLs and writes `report.md`; returns the Report.

  `run_ids` restricts the report to those runs (default: every finished run
  under `<workdir>/runs/`).
  """
  workdir = epath.Path(workdir)
  out = workdir / "report"
  df = results.load_results(workdir, run_ids)
  cond = results.conditioner_table(workdir, run_ids)
  curves = results.curves_table(workdir, run_ids)
  drawn = [("Performance at scale vs expertise",
            figures.save(figures.performance_vs_expertise(df), out, "performance_vs_expertise")),
           ("Model size vs data quality",
            figures.save(figures.size_vs_quality(df), out, "size_vs_quality"))]
  if len(cond):
    drawn.append(("RCI conditioning", figures.save(figures.conditioning(cond), out,
                                                   "conditioning")))
  if len(curves):
    drawn.append(("Scaling over training", figures.save(figures.training_curves(curves), out,
                                                        "training_curves")))
  fit_dir = out / "bnsl"
  fit_dir.mkdir(parents=True, exist_ok=True)
  groups = fits.group_records(_seed_records(df), "param_count", "eval_return", GROUP_BY)
  entries = fits.fit_groups(groups, GROUP_BY, fit_dir, x_label="parameters",
                            y_label="return", holdout=holdout, n_breaks=None, max_breaks=2,
                            n_bootstrap=n_bootstrap, band_level=0.9, seed=seed)
  (fit_dir / "fits.json").write_text(json.dumps(entries, indent=1))

  head = headline_table(df)
  lines = [f"# Study report: {workdir}", "",
           f"{len(df)} finished runs; envs {', '.join(sorted(df['env'].unique()))}; "
           f"algorithms {', '.join(sorted(df['algo'].unique()))}; {_sizes(df)}; "
           f"{int(df['config.train.num_seeds'].max())} seeds per run.", "",
           "## Performance at scale vs the best expert", "",
           "Largest model, end of training; return = mean over seeds (± std over seeds); "
           "RCI at c = 1.", "",
           "| env | algo | expertise | parameters | return | best expert | ratio |",
           "|---|---|---:|---:|---:|---:|---:|"]
  lines += [f"| {r.env} | {r.algo} | {r.expertise:g} | {int(r.param_count):,} | "
            f"{r.eval_return:.1f} ± {r.eval_return_std:.1f} | {r.best_expert_value:.1f} | "
            f"{r.vs_best_expert:.2f} |" for r in head.itertuples()]
  lines += ["", "## BNSL extrapolation", "",
            f"Return vs parameters per (env, algo, expertise), fitted without the largest "
            f"{holdout} size(s); errors in symlog space (RMSLE).", ""] + _fit_rows(entries)
  lines += ["", "## Figures", ""]
  lines += [f"### {title}\n\n![{title}]({png.relative_to(out)})\n" for title, png in drawn]
  lines += ["### BNSL fits\n"] + [f"![{e['figure']}](bnsl/{e['figure']})\n" for e in entries
                                  if "figure" in e]
  path = out / "report.md"
  path.write_text("\n".join(lines) + "\n")
  return Report(path, head, entries)
