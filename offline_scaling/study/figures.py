"""The study's figures, drawn from the results tables (`study.results`).

1. `performance_vs_expertise`: return at scale (largest model, end of
   training) vs expertise, per env and algorithm, with the best
   data-collecting expert's value at each expertise level.
2. `size_vs_quality`: return vs parameter count, one curve per expertise.
3. `conditioning`: RCI return vs conditioner c, one curve per expertise, c = 1 marked.
4. `training_curves`: return vs training steps, one curve per model size.
5. `performance_vs_diversity`: return at scale vs the number of experts P,
   one curve per expertise level, with each level's best expert (for a sweep
   that varies P).
6. `conditioning_response`: RCI's return got vs return asked, from the
   re-evaluation on a finer grid of c (`study.conditioning`).
7. `bnsl_extrapolation`: the paper's Figure 5, every BNSL of a report in one
   panel per (env, algo), fitted on the smaller sizes, the largest held out
   (each fit is also drawn alone by `study.fits.fit_groups`).

1–5 draw each mean over seeds with a band of its 95% CI (`intervals.mean_ci`;
none where a run has one seed).

1–4 draw one P: a report on a sweep that varies P draws them once per P.

Each function returns a matplotlib Figure; `save` writes it as PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from etils import epath  # noqa: E402

from offline_scaling.scaling import model as scaling_model  # noqa: E402
from offline_scaling.scaling import plot as scaling_plot  # noqa: E402
from offline_scaling.study import intervals  # noqa: E402

PANEL = (4.2, 3.2)   # inches per subplot


def save(fig: plt.Figure, out: str | epath.Path, stem: str) -> epath.Path:
  """Writes `<out>/<stem>.png` (150 dpi) and `.pdf`; returns the PNG's path."""
  out = epath.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  for suffix in (".png", ".pdf"):
    fig.savefig(out / f"{stem}{suffix}", dpi=150, bbox_inches="tight")
  plt.close(fig)
  return out / f"{stem}.png"


def _panels(n: int, ncols: int | None = None) -> tuple[plt.Figure, np.ndarray]:
  ncols = ncols or min(n, 4)
  nrows = -(-n // ncols)
  fig, axes = plt.subplots(nrows, ncols, figsize=(PANEL[0] * ncols, PANEL[1] * nrows),
                           squeeze=False)
  for ax in axes.flat[n:]:
    ax.set_visible(False)
  return fig, axes.flat


def _env_algo_panels(df: pd.DataFrame) -> tuple[plt.Figure, list]:
  """One panel per (env, algo) of `df`: the figure and [(ax, env, algo, rows)]."""
  groups = sorted(df.groupby(["env", "algo"]).groups)
  fig, axes = _panels(len(groups))
  return fig, [(ax, env, algo, df[(df["env"] == env) & (df["algo"] == algo)])
               for ax, (env, algo) in zip(axes, groups)]


def _colors(values) -> dict:
  values = sorted(set(values))
  cmap = plt.get_cmap("viridis")
  return {v: cmap(i / max(len(values) - 1, 1) * 0.9) for i, v in enumerate(values)}


def _band(ax, g: pd.DataFrame, x: str, y: str, low: str, high: str, **style) -> None:
  """A curve of `g[y]` vs `g[x]` (`style`: its colour, marker, label) over the
  band between `g[low]` and `g[high]`, in the curve's colour."""
  line, = ax.plot(g[x], g[y], **style)
  ax.fill_between(g[x], g[low], g[high], color=line.get_color(), alpha=0.2, linewidth=0)


def _per_expertise(ax, rows: pd.DataFrame, x: str, y: str, colors: dict) -> None:
  """One curve of `y` vs `x` with its 95% CI band (`return_ci_low`,
  `return_ci_high`) per expertise level of `rows`."""
  for e, g in rows.groupby("expertise"):
    _band(ax, g.sort_values(x), x, y, "return_ci_low", "return_ci_high", marker="o",
          color=colors[e], label=f"e = {e:g}")


def _finish(fig: plt.Figure, title: str) -> plt.Figure:
  fig.suptitle(title)
  fig.tight_layout()
  return fig


def at_scale(df: pd.DataFrame) -> pd.DataFrame:
  """The rows of the largest model of each (env, algo)."""
  largest = df.groupby(["env", "algo"])["param_count"].transform("max")
  return df[df["param_count"] == largest]


def performance_vs_expertise(df: pd.DataFrame) -> plt.Figure:
  """Figure 1 from `load_results`' table: one panel per (env, algo), the largest
  model's return vs expertise with its 95% CI band, and the best expert's value
  in the data as the reference line."""
  fig, panels = _env_algo_panels(at_scale(df))
  for ax, env, algo, rows in panels:
    g = rows.sort_values("expertise")
    _band(ax, g, "expertise", "eval_return", "return_ci_low", "return_ci_high", marker="o",
          label=f"{algo.upper()} ({int(g['param_count'].iloc[0]):,} params)")
    best = g.groupby("expertise")["best_expert_value"].max()
    ax.plot(best.index, best.values, "k--", marker="*", label="best expert in the data")
    ax.set(title=f"{env} {algo.upper()}", xlabel="expertise", ylabel="return")
    ax.legend(fontsize=7)
  return _finish(fig, "Performance at scale vs expertise")


def size_vs_quality(df: pd.DataFrame) -> plt.Figure:
  """Figure 2: return vs parameter count, one curve per expertise, per (env, algo)."""
  fig, panels = _env_algo_panels(df)
  colors = _colors(df["expertise"])
  for ax, env, algo, rows in panels:
    _per_expertise(ax, rows, "param_count", "eval_return", colors)
    ax.set(title=f"{env} {algo.upper()}", xlabel="parameters", ylabel="return")
    scaling_plot.log_count_axis(ax)
    ax.legend(fontsize=7)
  return _finish(fig, "Model size vs data quality")


def conditioning(cond: pd.DataFrame) -> plt.Figure:
  """Figure 3 from `conditioner_table`: the largest RCI model of each env."""
  largest = cond.groupby("env")["param_count"].transform("max")
  cond = cond[cond["param_count"] == largest]
  envs = sorted(cond["env"].unique())
  fig, axes = _panels(max(len(envs), 1))
  colors = _colors(cond["expertise"])
  for ax, env in zip(axes, envs):
    rows = cond[cond["env"] == env]
    _per_expertise(ax, rows, "conditioner", "return_mean", colors)
    ax.axvline(1.0, color="k", ls=":", lw=1, label="c = 1 (best return in the data)")
    ax.set(title=f"{env} RCI ({int(rows['param_count'].iloc[0]):,} params)",
           xlabel="conditioner c", ylabel="return")
    ax.legend(fontsize=7)
  return _finish(fig, "RCI conditioning")


def conditioning_response(table: pd.DataFrame) -> plt.Figure:
  """Return got vs return asked, from `conditioning.response_table`: a panel per
  (env, expertise), a curve per (model size, return code), the identity, the
  best expert's value and G_max marked, c* (asking for that value) starred."""
  groups = sorted(table.groupby(["env", "expertise"]).groups)
  fig, axes = _panels(len(groups), ncols=min(len(groups), 3))
  colors = _colors(table["size"])
  styles = dict(zip(sorted(table["code_size"].unique(), reverse=True), ("-", "--", ":", "-.")))
  for ax, (env, e) in zip(axes, groups):
    rows = table[(table["env"] == env) & (table["expertise"] == e)]
    for (code, n), g in rows.groupby(["code_size", "size"]):
      ax.errorbar(g["asked_return"], g["return_mean"], yerr=g["return_std"], marker=".",
                  capsize=2, color=colors[n], ls=styles[code],
                  label=f"{scaling_plot.format_count(n)}, {code}-d code")
      star = g[g["at_best_expert"]]
      ax.plot(star["asked_return"], star["return_mean"], "*", ms=11, color=colors[n], mec="k")
    lo, hi = rows["asked_return"].min(), rows["asked_return"].max()
    ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, label="got = asked")
    ax.axhline(rows["best_expert_value"].iloc[0], color="k", ls="--", lw=1,
               label="best expert's value")
    ax.axvline(rows["g_max"].iloc[0], color="k", ls=":", lw=1, label="G_max (c = 1)")
    ax.set(title=f"{env} RCI, e = {e:g}", xlabel="return asked", ylabel="return got")
    ax.legend(fontsize=6)
  return _finish(fig, "RCI conditioning response (★: asking for the best expert's value)")


def _ci_per_step(g: pd.DataFrame) -> pd.DataFrame:
  """Per evaluation step of one run's `curves_table` rows (one per seed): the
  mean return over seeds and its 95% CI (`step`, `mean`, `low`, `high`)."""
  rows = [dict(step=step, mean=s["return"].mean(),
               **dict(zip(("low", "high"), intervals.mean_ci(s["return"]))))
          for step, s in g.groupby("step")]
  return pd.DataFrame(rows)


def training_curves(curves: pd.DataFrame) -> plt.Figure:
  """Figure 4 from `curves_table` (headline evaluations): rows (env, algo),
  columns expertise."""
  curves = curves[curves["headline"]]
  rows_keys = sorted(curves.groupby(["env", "algo"]).groups)
  levels = sorted(curves["expertise"].unique())
  fig, axes = plt.subplots(len(rows_keys), len(levels), squeeze=False,
                           figsize=(PANEL[0] * len(levels), PANEL[1] * len(rows_keys)))
  colors = _colors(curves["param_count"])
  for i, (env, algo) in enumerate(rows_keys):
    for j, e in enumerate(levels):
      ax = axes[i, j]
      sub = curves[(curves["env"] == env) & (curves["algo"] == algo) & (curves["expertise"] == e)]
      for n, g in sub.groupby("param_count"):
        _band(ax, _ci_per_step(g), "step", "mean", "low", "high", marker=".", color=colors[n],
              label=f"{int(n):,}")
      ax.set(title=f"{env} {algo.upper()} e = {e:g}", xlabel="training steps", ylabel="return")
      ax.legend(fontsize=7, title="parameters", title_fontsize=7)
  return _finish(fig, "Scaling over training (mean over seeds, 95% CI)")


def performance_vs_diversity(df: pd.DataFrame) -> plt.Figure:
  """Figure 5 from `load_results`' table: return at scale vs the number of
  experts P (log axis), one curve per expertise level, per (env, algo); dashed
  in the level's colour, the best data-collecting expert's value."""
  scale = at_scale(df)
  fig, panels = _env_algo_panels(scale)
  colors = _colors(scale["expertise"])
  for ax, env, algo, rows in panels:
    _per_expertise(ax, rows, "num_policies", "eval_return", colors)
    for e, g in rows.groupby("expertise"):
      best = g.groupby("num_policies")["best_expert_value"].max()
      ax.plot(best.index, best.values, ls="--", lw=1, color=colors[e])
    ax.plot([], [], "k--", lw=1, label="best expert in the data")
    ps = sorted(rows["num_policies"].unique())
    ax.set(xscale="log", title=f"{env} {algo.upper()} ({int(rows['param_count'].iloc[0]):,} "
           "params)", xlabel="number of experts P", ylabel="return")
    ax.set_xticks(ps, [str(p) for p in ps])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.legend(fontsize=7)
  return _finish(fig, "Performance at scale vs the number of experts")


def _draw_fit(ax, entry: dict, color) -> tuple[np.ndarray, np.ndarray]:
  """One `fits.fit_groups` entry in `color`: its means over seeds (filled where
  fitted, open where held out), its curve (solid over the fitted sizes, dashed
  beyond, none beyond for a fit that cannot extrapolate) and its bootstrap band
  at the sizes it is shown at; returns (the means, the curve and band's values)."""
  per_x = pd.DataFrame(entry["per_x"])
  fitted, held = per_x[~per_x["held_out"]], per_x[per_x["held_out"]]
  params = scaling_model.BNSLParams.from_dict(entry["params"])
  spans = [(fitted["x"].min(), fitted["x"].max(), "-")]
  if entry["can_extrapolate"] and len(held):
    spans.append((fitted["x"].max(), held["x"].max(), "--"))
  model_y = []
  for lo, hi, ls in spans:
    x = np.geomspace(lo, hi, 100)
    y = scaling_model.bnsl(x, params)
    ax.plot(x, y, ls=ls, lw=1.5, color=color)
    model_y.append(y)
  ax.scatter(fitted["x"], fitted["mean_y"], s=22, color=color, zorder=3,
             label=f"e = {entry['group']['expertise']:g}")
  ax.scatter(held["x"], held["mean_y"], s=40, facecolors="white", edgecolors=color,
             linewidths=1.5, zorder=3)
  banded = per_x[per_x["band"].notna()]
  if len(banded):
    low, high = np.asarray(banded["band"].tolist()).T
    ax.fill_between(banded["x"], low, high, color=color, alpha=0.15, linewidth=0)
    model_y += [low, high]
  return per_x["mean_y"].to_numpy(), np.concatenate(model_y)


def bnsl_extrapolation(entries: list[dict]) -> plt.Figure:
  """Figure 7, the paper's Figure 5, from `fits.fit_groups`' entries (one P):
  one panel per (env, algo), per expertise level the return's mean over seeds
  at each size and the BNSL fitted without the largest size(s), its prediction
  there dashed and its bootstrap band shaded; the y range is the data's
  (`scaling.plot.y_limits`). Entries that failed to fit are left out; with
  none fitted, the figure says why (the first entry's error)."""
  drawn = [e for e in entries if "per_x" in e]
  panels = sorted({(e["group"]["env"], e["group"]["algo"]) for e in drawn})
  fig, axes = _panels(max(len(panels), 1))
  colors = _colors(e["group"]["expertise"] for e in drawn)
  level = drawn[0].get("band_level") if drawn else None
  if not drawn:   # e.g. a sweep still running, with fewer sizes than any law needs
    axes[0].text(0.5, 0.5, "no BNSL fitted: " + (entries[0]["error"] if entries else "no fits"),
                 ha="center", va="center", wrap=True, transform=axes[0].transAxes)
    axes[0].set_axis_off()
  for ax, (env, algo) in zip(axes, panels):
    data, model = [], []
    for e in sorted((e for e in drawn if (e["group"]["env"], e["group"]["algo"]) == (env, algo)),
                    key=lambda e: e["group"]["expertise"]):
      means, curve = _draw_fit(ax, e, colors[e["group"]["expertise"]])
      data.append(means)
      model.append(curve)
    ax.scatter([], [], s=40, facecolors="white", edgecolors="k", label="held out")
    if any(line.get_linestyle() == "--" for line in ax.lines):
      ax.plot([], [], "k--", lw=1.5, label="extrapolated")
    scaling_plot.log_count_axis(ax)
    ax.set_ylim(*scaling_plot.y_limits(np.concatenate(data), np.concatenate(model)))
    ax.set(title=f"{env} {algo.upper()}", xlabel="parameters", ylabel="return")
    ax.legend(fontsize=7)
  band = f", {level:.0%} bootstrap bands" if level else ""
  return _finish(fig, f"BNSL fits, largest size held out{band}")
