"""BNSL fits of grouped results: one curve per group, its figure and JSON entry.

Serves `experiments.fit_scaling_laws` (any table of records) and the sweep
report (`study.report`). A fit on no more distinct x than it has parameters
(`BNSLFit.can_extrapolate` False) shows no prediction or band at its held-out
x: its entry has null there, and tables and logs say `TOO_FEW_SIZES`.
"""

from __future__ import annotations

import re
from typing import Any

from absl import logging
from etils import epath
import numpy as np

from offline_scaling import scaling
from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling.fit import TOO_FEW_SIZES


def group_records(records: list[dict[str, Any]], x: str, y: str,
                  group_by: list[str]) -> dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]:
  """{group values: (x (n,), y (n,))}, skipping records missing a field."""
  fields = [x, y, *group_by]
  usable = [r for r in records if all(r.get(f) is not None for f in fields)]
  if not usable:
    raise OfflineScalingError(
        f"No record has all the fields {', '.join(fields)}; check --x, --y and "
        "--group_by.")
  if len(usable) < len(records):
    logging.warning("skipped %d of %d records missing one of %s",
                    len(records) - len(usable), len(records), fields)
  groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
  for r in usable:
    groups.setdefault(tuple(r[f] for f in group_by), []).append(r)
  out = {}
  for key in sorted(groups, key=lambda k: tuple(map(str, k))):
    try:
      xs = np.asarray([r[x] for r in groups[key]], dtype=float)
      ys = np.asarray([r[y] for r in groups[key]], dtype=float)
    except ValueError as e:
      raise OfflineScalingError(
          f"Fields --x={x} and --y={y} must hold numbers: {e}.") from e
    out[key] = (xs, ys)
  return out


def _stem(group_by: list[str], key: tuple[Any, ...]) -> str:
  """A file name for a group, e.g. 'env=hopper_algo=bc_expertise=0.6'."""
  name = "_".join(f"{f}={v}" for f, v in zip(group_by, key)) or "all"
  return re.sub(r"[^A-Za-z0-9._=-]+", "-", name)


def _per_x(fit: scaling.BNSLFit, level: float) -> list[dict[str, Any]]:
  """Per distinct x: observed mean and count, prediction, band, held out.

  Prediction and band are None at held-out x when the fit cannot extrapolate.
  """
  x = np.concatenate([fit.x_train, fit.x_holdout])
  y = np.concatenate([fit.y_train, fit.y_holdout])
  distinct, inverse = np.unique(x, return_inverse=True)
  means = np.bincount(inverse, weights=y) / np.bincount(inverse)
  band = fit.band(distinct, level) if fit.bootstrap else None
  held_out = set(fit.x_holdout.tolist())
  rows = []
  for i, (v, m, p) in enumerate(zip(distinct, means, fit.predict(distinct))):
    shown = fit.can_extrapolate or float(v) not in held_out
    rows.append({
        "x": float(v),
        "n": int(np.sum(x == v)),
        "mean_y": float(m),
        "predicted": float(p) if shown else None,
        "band": ([float(band[0][i]), float(band[1][i])]
                 if band is not None and shown else None),
        "held_out": float(v) in held_out,
    })
  return rows


def fit_groups(groups, group_by: list[str], out: epath.Path, *, x_label: str,
               y_label: str, holdout: int, n_breaks: int | None,
               max_breaks: int, n_bootstrap: int, band_level: float,
               seed: int, allow_growth: bool = False) -> list[dict[str, Any]]:
  """Fits every group, draws its figure into `out`, returns the JSON entries.

  `allow_growth` is passed to `scaling.fit_bnsl` (default: no segment grows).
  """
  entries = []
  for key, (x, y) in groups.items():
    group = dict(zip(group_by, key))
    title = ", ".join(f"{f}={v}" for f, v in group.items())
    try:
      fit = scaling.fit_bnsl(x, y, n_breaks, holdout, max_breaks=max_breaks,
                             n_bootstrap=n_bootstrap, seed=seed,
                             allow_growth=allow_growth)
    except OfflineScalingError as e:
      logging.warning("%s: not fitted: %s", title or "all", e)
      entries.append({"group": group, "error": str(e)})
      continue
    stem = _stem(group_by, key)
    figure = scaling.plot_fit(fit, x_label=x_label, y_label=y_label,
                              title=title or None, level=band_level)
    for suffix in (".png", ".pdf"):
      figure.savefig(out / f"{stem}{suffix}", dpi=150)
    entries.append({"group": group, **fit.to_dict(), "figure": f"{stem}.png",
                    "band_level": band_level, "per_x": _per_x(fit, band_level)})
    if not fit.can_extrapolate:
      held = f", {TOO_FEW_SIZES}"
    elif fit.holdout_rmsle is not None:
      held = f", held-out RMSLE {fit.holdout_rmsle:.4f}"
    else:
      held = ""
    print(f"{title or 'all'}: k={fit.n_breaks}, train RMSLE "
          f"{fit.train_rmsle:.4f}{held}")
  return entries
