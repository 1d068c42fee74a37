"""A sweep's results read back as tables (pandas).

Each reads the finished runs under `<workdir>/runs/`, or only those named in
`run_ids` (e.g. one sweep's points when a workdir holds several). Every table
carries `num_policies`, the number of experts P the run's data were asked for
(its config's), so results can be grouped by P when a sweep varies it.

* `load_results`: one row per finished run with its point, every config field
  (`config.<dotted path>`), the metrics of its result record, and the spread
  and 95% CI of the final return over seeds.
* `summary_table`: one row per (run, conditioner) — `results.csv`.
* `conditioner_table`: one row per (RCI run, conditioner).
* `training_gains`: return at half vs end of training, per (run, conditioner),
  judged by the 95% CI of the paired gain over seeds.
* `curves_table`: one row per (run, conditioner, evaluation step, seed) from `evals.jsonl`.

Every interval is `intervals.mean_ci` of the seeds' values: the 95% percentile
bootstrap CI of their mean, NaN for a run of one seed. `passes` is the result
record's samples drawn per seed ÷ distinct transitions available; NaN for a run
recorded before the field existed.
"""

from __future__ import annotations

import json
from typing import Collection

import numpy as np
import pandas as pd
from etils import epath

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import intervals
from offline_scaling.train import runs

POINT_FIELDS = ("env", "algo", "expertise", "num_policies", "size")


def _flatten(d: dict, prefix: str) -> dict:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = tuple(v) if isinstance(v, list) else v
  return out


def _seed_returns(evaluation: dict, prefix: str = "", key: str = "returns") -> np.ndarray:
  """[seeds] mean return per seed of one evaluation record (`key`: "returns", or
  "clipped_returns" for the clipped unit)."""
  return np.asarray(evaluation[f"{prefix}{key}"], dtype=float).mean(axis=-1)


def _value_key(record: dict) -> str:
  """The evaluation key whose returns are in the unit of the run's policy values
  (`best_expert_value`): clipped returns where the values are (Atari's DQN Replay)."""
  return "clipped_returns" if record.get("value_unit") == "clipped" else "returns"


def _passes(record: dict) -> float:
  """The record's `passes` over its data; NaN for a record written before it existed."""
  return float(record.get("passes", np.nan))


def _run_dirs(workdir: str | epath.Path, run_ids: Collection[str] | None) -> list[epath.Path]:
  root = epath.Path(workdir) / "runs"
  if not root.exists():
    raise OfflineScalingError(f"{root} does not exist: no sweep has run in {workdir}")
  return sorted(d for d in root.iterdir() if (d / runs.RESULT_NAME).exists()
                and (run_ids is None or d.name in run_ids))


def read_point(run_dir: epath.Path) -> dict:
  """The sweep point a run was made for (`point.json`); {} for a run made outside a sweep."""
  path = run_dir / "point.json"
  return json.loads(path.read_text()) if path.exists() else {}


def load_results(workdir: str | epath.Path,
                 run_ids: Collection[str] | None = None) -> pd.DataFrame:
  """Every finished run of the sweep in `workdir`, one row each.

  Columns: `run_id`, `sweep`, `env`, `algo`, `expertise`, `size`,
  `num_policies` (the point; P as requested), `param_count`, `steps`,
  `samples_seen`, `eval_return` (mean over seeds and episodes, in the unit of
  the policies' values, `value_unit`: the env's returns, or Atari's clipped
  ones), `raw_return` (the env's rewards summed: Atari's game score),
  `eval_return_std` (std over seeds of their mean returns), `return_ci_low`,
  `return_ci_high` (95% CI of the mean over seeds of their mean returns, same
  units), `seed_returns` (each seed's mean return), `num_seeds`, `passes`,
  `best_expert_value`, `num_policies_selected` (fewer than P where fewer were
  eligible), `num_transitions`, `selection_rule`, `domain`, and
  `config.<field>` for every config field.

  Raises:
    OfflineScalingError: no finished run; or two points of one sweep made on
      different data (a policy with two values).
  """
  rows, values = [], {}
  for d in _run_dirs(workdir, run_ids):
    r = runs.read_result(d)
    point = read_point(d)
    _check_same_data(values, point.get("sweep", ""), r)
    seeds = _seed_returns(r["eval"], _headline_prefix(r), _value_key(r))
    low, high = intervals.mean_ci(seeds)
    row = dict(run_id=r["run_id"], sweep=point.get("sweep", ""), env=r["env"], algo=r["algo"],
               expertise=r["expertise"], size=point.get("size", r["param_count"]),
               num_policies=r["config"]["num_policies"], param_count=r["param_count"],
               steps=r["steps"], samples_seen=r["samples_seen"],
               eval_return=float(seeds.mean()),
               raw_return=float(_seed_returns(r["eval"], _headline_prefix(r)).mean()),
               value_unit=r.get("value_unit", "raw"),
               eval_return_std=float(seeds.std()), return_ci_low=low, return_ci_high=high,
               seed_returns=tuple(seeds.tolist()), num_seeds=len(seeds), passes=_passes(r),
               best_expert_value=r["best_expert_value"],
               num_policies_selected=len(r["selection"]["policy_ids"]),
               num_transitions=r["dataset"]["num_transitions"],
               selection_rule=r["selection_rule"], domain=r["domain"])
    row.update(_flatten(r["config"], "config."))
    rows.append(row)
  if not rows:
    raise OfflineScalingError(f"no finished run under {epath.Path(workdir) / 'runs'}")
  return pd.DataFrame(rows)


def _check_same_data(seen: dict, sweep: str, record: dict) -> None:
  """Raises when a sweep's runs were made on different data: a policy whose
  value differs between two of its points (e.g. points archived from a zoo
  trained on another machine beside points of this one). `seen` maps (sweep,
  env, policy id) to (value, run id) and grows; runs outside a sweep pass."""
  if not sweep:
    return
  s = record["selection"]
  for pid, value in zip(s["policy_ids"], s.get("values", ())):   # (none: synthetic records)
    first = seen.setdefault((sweep, record["env"], pid), (value, record["run_id"]))
    if first[0] != value:
      raise OfflineScalingError(
          f"runs {first[1]} and {record['run_id']} of sweep {sweep} were made on different "
          f"data: policy {pid} has value {first[0]} in one and {value} in the other (a zoo "
          "or replay made again on another machine?); report them apart")


def _headline_prefix(record: dict) -> str:
  """The key prefix of the evaluation that `eval_return` reports (RCI: c = 1)."""
  if record["algo"] != "rci":
    return ""
  conditioners = record["config"]["conditioners"]
  return f"c={1.0 if 1.0 in conditioners else conditioners[0]:g}/"


def _evaluations(record: dict) -> list[tuple[float | None, str]]:
  """(conditioner, key prefix) of each evaluation in a run's records: RCI one
  per conditioner, other algorithms one with conditioner None."""
  if record["algo"] != "rci":
    return [(None, "")]
  return [(float(c), f"c={c:g}/") for c in record["config"]["conditioners"]]


def summary_table(workdir: str | epath.Path,
                  run_ids: Collection[str] | None = None) -> pd.DataFrame:
  """One row per (run, conditioner) — what `results.csv` holds.

  Columns: env, algo, expertise, param_count, conditioner (NaN but for RCI),
  steps, return_mean (over seeds and episodes, in the unit of the policies'
  values), return_std (over the seeds' mean returns), num_seeds,
  best_expert_value, run_id, num_policies (P as requested), return_ci_low,
  return_ci_high (95% CI of the mean over seeds of their mean returns), passes,
  value_unit ("raw", or "clipped" on Atari), raw_return_mean (the env's rewards
  summed: Atari's game score). Sorted by env, algo, expertise, P, param_count,
  conditioner.
  """
  rows = []
  for d in _run_dirs(workdir, run_ids):
    r = runs.read_result(d)
    for c, prefix in _evaluations(r):
      seeds = _seed_returns(r["eval"], prefix, _value_key(r))
      low, high = intervals.mean_ci(seeds)
      rows.append(dict(env=r["env"], algo=r["algo"], expertise=r["expertise"],
                       param_count=r["param_count"], conditioner=np.nan if c is None else c,
                       steps=r["steps"], return_mean=float(seeds.mean()),
                       return_std=float(seeds.std()), num_seeds=len(seeds),
                       best_expert_value=r["best_expert_value"], run_id=r["run_id"],
                       num_policies=r["config"]["num_policies"], return_ci_low=low,
                       return_ci_high=high, passes=_passes(r),
                       value_unit=r.get("value_unit", "raw"),
                       raw_return_mean=float(_seed_returns(r["eval"], prefix).mean())))
  columns = ["env", "algo", "expertise", "param_count", "conditioner", "steps", "return_mean",
             "return_std", "num_seeds", "best_expert_value", "run_id", "num_policies",
             "return_ci_low", "return_ci_high", "passes", "value_unit", "raw_return_mean"]
  return pd.DataFrame(rows, columns=columns).sort_values(
      ["env", "algo", "expertise", "num_policies", "param_count", "conditioner"],
      ignore_index=True)


def conditioner_table(workdir: str | epath.Path,
                      run_ids: Collection[str] | None = None) -> pd.DataFrame:
  """One row per (RCI run, conditioner c): point, param_count, c, return_mean,
  return_std (over seeds), return_ci_low, return_ci_high, num_policies."""
  return rci_rows(summary_table(workdir, run_ids))


def rci_rows(table: pd.DataFrame) -> pd.DataFrame:
  """`conditioner_table`'s rows and columns, from a `summary_table` already read."""
  return table[table["algo"] == "rci"][["run_id", "env", "expertise", "param_count",
                                         "conditioner", "return_mean", "return_std",
                                         "return_ci_low", "return_ci_high", "num_policies"]]


def curves_table(workdir: str | epath.Path,
                 run_ids: Collection[str] | None = None) -> pd.DataFrame:
  """One row per (run, conditioner, evaluation step, seed) from `evals.jsonl`:
  point, param_count, conditioner (NaN but for RCI), headline (the evaluation
  `eval_return` reports: RCI at c = 1), step, fraction (of the run's steps),
  seed, return (mean over episodes), num_policies."""
  rows = []
  for d in _run_dirs(workdir, run_ids):
    r = runs.read_result(d)
    headline = _headline_prefix(r)
    log = d / "evals.jsonl"
    for line in log.read_text().splitlines() if log.exists() else ():
      ev = json.loads(line)
      for c, prefix in _evaluations(r):
        for seed, ret in enumerate(_seed_returns(ev, prefix, _value_key(r))):
          rows.append(dict(run_id=r["run_id"], env=r["env"], algo=r["algo"],
                           expertise=r["expertise"], param_count=r["param_count"],
                           conditioner=np.nan if c is None else c,
                           headline=prefix == headline, step=ev["step"],
                           fraction=ev["step"] / max(r["steps"], 1),
                           seed=seed, **{"return": float(ret)},
                           num_policies=r["config"]["num_policies"]))
  return pd.DataFrame(rows, columns=["run_id", "env", "algo", "expertise", "param_count",
                                     "conditioner", "headline", "step", "fraction", "seed",
                                     "return", "num_policies"])


def training_gains(curves: pd.DataFrame) -> pd.DataFrame:
  """Does more training help? From `curves_table`: one row per (run, conditioner)
  with the mean return over seeds at the evaluation nearest half of training
  (`half_return`), at the end (`final_return`), their mean paired difference
  over seeds (`gain`) with its 95% CI (`gain_ci_low`, `gain_ci_high`), and
  whether that CI lies wholly above 0 (`improved`) or below it (`worsened`);
  neither: the CI holds 0, or the run has one seed (NaN CI)."""
  keys = ["run_id", "env", "algo", "expertise", "param_count", "conditioner", "num_policies"]
  rows = []
  for key, g in curves.groupby(keys, dropna=False):
    steps = np.sort(g["step"].unique())
    if len(steps) < 2:
      continue
    half = steps[np.argmin(np.abs(steps - steps[-1] / 2))]
    early = g[g["step"] == half].sort_values("seed")["return"].to_numpy()
    late = g[g["step"] == steps[-1]].sort_values("seed")["return"].to_numpy()
    diff = late - early
    low, high = intervals.mean_ci(diff)
    held = intervals.side(low, high, 0.0)
    rows.append(dict(zip(keys, key), half_step=int(half), final_step=int(steps[-1]),
                     half_return=float(early.mean()), final_return=float(late.mean()),
                     gain=float(diff.mean()), gain_ci_low=low, gain_ci_high=high,
                     improved=held > 0, worsened=held < 0))
  return pd.DataFrame(rows)
