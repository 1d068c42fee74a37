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
paper. A group that cannot be fitted (fewer x values than parameters) gets an
"error" entry; one with exactly as many is fitted, but its held-out x get no
prediction ("too few sizes to extrapolate"). By default no power-law segment of
a curve may grow (the exponents c0, c0 + c_1, ... are >= 0), so predictions
saturate; --allow_growth lifts that for laws that rise without bound.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import fits

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
flags.DEFINE_bool("allow_growth", False,
                  "allow curves that grow without bound (exponent c0, or c0 + c_1 + ..., < 0)")
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


def main(_):
  if not F.results or not F.out:
    raise OfflineScalingError("--results and --out are required.")
  out = epath.Path(F.out)
  out.mkdir(parents=True, exist_ok=True)
  groups = fits.group_records(load_records(F.results), F.x, F.y, F.group_by)
  entries = fits.fit_groups(
      groups, F.group_by, out, x_label=F.x, y_label=F.y, holdout=F.holdout,
      n_breaks=F.n_breaks, max_breaks=F.max_breaks, n_bootstrap=F.n_bootstrap,
      band_level=F.band_level, seed=F.seed, allow_growth=F.allow_growth)
  summary = {"results": F.results, "x": F.x, "y": F.y, "group_by": F.group_by,
             "holdout": F.holdout, "band_level": F.band_level,
             "allow_growth": F.allow_growth, "fits": entries}
  (out / "fits.json").write_text(json.dumps(summary, indent=2))
  print(f"{len(entries)} curves: {out / 'fits.json'}")


if __name__ == "__main__":
  common.run(main)
