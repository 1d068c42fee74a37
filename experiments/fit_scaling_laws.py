r"""Fits Broken Neural Scaling Laws to study results, one curve per group.

    python -m experiments.fit_scaling_laws --results=runs/sweep \
        --x=param_count --y=eval_return --group_by=env,algo,expertise \
        --holdout=2 --out=runs/sweep/fits

--results is a directory (every `result.json` below it, one flat JSON record
per run; if there is none, every `*.json` below it), a `.json` file (a record
or a list of records), a `.jsonl` file (a record per line) or a `.csv` file (a
record per row). Records without the x, y or group fields (unfinished runs) are
skipped with a warning. Writes <out>/fits.json (per group: parameters, train
and held-out RMSLE, chosen k, and per x the observed mean, the prediction and
the bootstrap band) and <out>/<group>.png and .pdf in the style of the BNSL
paper. A group that cannot be fitted (too few x values) gets an "error" entry.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any

from absl import flags
from absl import logging
from etils import epath
import numpy as np

from experiments import common
from offline_scaling import scaling
from offline_scaling.errors import OfflineScalingError

flags.DEFINE_string("results", None, "results directory, or a .json/.jsonl/.csv file")
flags.DEFINE_string("x", "param_count", "record field for x (positive)")
flags.DEFINE_string("y", "eval_return", "record field for y")
flags.DEFINE_list("group_by", ["env", "algo", "expertise"],
                  "record fields that define one curve (empty: a single curve)")
flags.DEFINE_integer("holdout", 0, "largest distinct x values held out per curve")
flags.DEFINE_integer("n_breaks", None, "breaks k; unset: chosen by held-out error")
flags.DEFINE_integer("max_breaks", 2, "largest k tried when --n_breaks is unset")
flags.DEFINE_integer("n_bootstrap", 200, "bootstrap refits for the band (0: none)")
flags.DEFINE_float("band_level", 0.9, "coverage of the bootstrap band")
flags.DEFINE_integer("seed", 0, "seed of the bootstrap")
flags.DEFINE_string("out", None, "output directory for fits.json and figures")
F = flags.FLAGS


def _read_json(path: epath.Path) -> list[dict[str, Any]]:
  """Records in a .json file holding one record or a list of them."""
  try:
    data = json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise OfflineScalingError(f"{path} is not valid JSON: {e}.") from e
  return data if isinstance(data, list) else [data]


def _read_jsonl(path: epath.Path) -> list[dict[str, Any]]:
  """Records in a .jsonl file, one per non-blank line."""
  records = []
  for number, line in enumerate(path.read_text().splitlines(), start=1):
    if line.strip():
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError as e:
        raise OfflineScalingError(
            f"{path} line {number} is not valid JSON: {e}.") from e
  return records


def _read_csv(path: epath.Path) -> list[dict[str, Any]]:
  """Records in a .csv file with a header row; empty cells count as missing."""
  with path.open() as f:
    return [{k: v for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(f)]


def load_records(results: str) -> list[dict[str, Any]]:
  """All records under `results` (see the module docstring for the layouts)."""
  path = epath.Path(results)
  if path.is_dir():
    files = sorted(d / n for d, _, names in path.walk() for n in names
                   if n.endswith(".json"))
    files = [f for f in files if f.name == "result.json"] or files
    if not files:
      raise OfflineScalingError(f"--results={results} holds no .json records.")
    return [r for f in files for r in _read_json(f)]
  readers = {".json": _read_json, ".jsonl": _read_jsonl, ".csv": _read_csv}
  if not path.exists() or path.suffix not in readers:
    raise OfflineScalingError(
        f"--results={results} is neither a directory nor an existing "
        ".json/.jsonl/.csv file.")
  return readers[path.suffix](path)


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
  """Per distinct x: observed mean and count, prediction, band, held out."""
  x = np.concatenate([fit.x_train, fit.x_holdout])
  y = np.concatenate([fit.y_train, fit.y_holdout])
  distinct, inverse = np.unique(x, return_inverse=True)
  means = np.bincount(inverse, weights=y) / np.bincount(inverse)
  band = fit.band(distinct, level) if fit.bootstrap else None
  held_out = set(fit.x_holdout.tolist())
  return [{
      "x": float(v),
      "n": int(np.sum(x == v)),
      "mean_y": float(m),
      "predicted": float(p),
      "band": [float(band[0][i]), float(band[1][i])] if band is not None else None,
      "held_out": float(v) in held_out,
  } for i, (v, m, p) in enumerate(zip(distinct, means, fit.predict(distinct)))]


def fit_groups(groups, group_by: list[str], out: epath.Path, *, x_label: str,
               y_label: str, holdout: int, n_breaks: int | None,
               max_breaks: int, n_bootstrap: int, band_level: float,
               seed: int) -> list[dict[str, Any]]:
  """Fits every group, draws its figure into `out`, returns the JSON entries."""
  entries = []
  for key, (x, y) in groups.items():
    group = dict(zip(group_by, key))
    title = ", ".join(f"{f}={v}" for f, v in group.items())
    try:
      fit = scaling.fit_bnsl(x, y, n_breaks, holdout, max_breaks=max_breaks,
                             n_bootstrap=n_bootstrap, seed=seed)
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
                    "per_x": _per_x(fit, band_level)})
    held = (f", held-out RMSLE {fit.holdout_rmsle:.4f}"
            if fit.holdout_rmsle is not None else "")
    print(f"{title or 'all'}: k={fit.n_breaks}, train RMSLE "
          f"{fit.train_rmsle:.4f}{held}")
  return entries


def main(_):
  if not F.results or not F.out:
    raise OfflineScalingError("--results and --out are required.")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  groups = group_records(load_records(F.results), F.x, F.y, F.group_by)
  entries = fit_groups(
      groups, F.group_by, out, x_label=F.x, y_label=F.y, holdout=F.holdout,
      n_breaks=F.n_breaks, max_breaks=F.max_breaks, n_bootstrap=F.n_bootstrap,
      band_level=F.band_level, seed=F.seed)
  summary = {"results": F.results, "x": F.x, "y": F.y, "group_by": F.group_by,
             "holdout": F.holdout, "band_level": F.band_level, "fits": entries}
  (out / "fits.json").write_text(json.dumps(summary, indent=2))
  print(f"{len(entries)} curves: {out / 'fits.json'}")


if __name__ == "__main__":
  common.run(main)
