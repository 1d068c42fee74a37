"""RCI's conditioning response: the return a trained RCI policy gets when asked for one.

A sweep evaluates RCI at a few conditioners c (the paper's five). Where to set
c is then a choice made on five points. This module plays each finished
PyBullet RCI run's final parameters again on a finer grid of c, without
training, and adds the c that asks for the best data-collecting expert's value,

    c* = (V_best − G_min) / (G_max − G_min),

so the response can be read in return units: asked G_min + c·(G_max − G_min),
got the mean evaluation return.

* `reevaluate_runs`: plays the runs, caching `<run>/conditioning.json`
  ({"step": update, "returns": {"<c>": returns, seeds × episodes}}), so a rerun plays
  only conditioners it has not played.
* `response_table`: one row per (run, c) from those files.
* `summary`: one row per run: the best c and its return, the return at c*
  and at c = 1.
* `boundary_grid` / `boundary_summary`: the paper's conditioners sit on the
  return code's edges (`nets.return_embedding`); playing c − 2^−8 and c + 2^−8
  beside each and reading the three returns side by side, with the code bits
  each step flips, tells a response to the asked return from a lookup at an edge.
"""

from __future__ import annotations

import json
from typing import Callable, Collection

import numpy as np
import pandas as pd
from etils import epath

from offline_scaling.data.policy_table import write_json_atomic
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets import return_embedding
from offline_scaling.study import intervals, results
from offline_scaling.study.grid import PAPER_CONDITIONERS
from offline_scaling.train import offline_run, pybullet_imitation, runs

RECORD_NAME = "conditioning.json"
BOUNDARY_STEP = 2.0 ** -8   # exact in float32 beside every paper c


# What names a replayed run in the tables (and orders them).
RUN_KEYS = ["env", "expertise", "code_size", "code_offset", "size"]

def best_expert_conditioner(record: dict) -> float:
  """c* of a run's result record: the c whose asked return is the best
  selected expert's value (rounded to 4 decimals, so it caches as one key)."""
  g_min, g_max = record["dataset"]["g_min"], record["dataset"]["g_max"]
  return round((record["best_expert_value"] - g_min) / max(g_max - g_min, 1e-9), 4)


def _rci_runs(workdir: str | epath.Path,
              run_ids: Collection[str]) -> list[tuple[epath.Path, dict]]:
  """(run directory, result record) of the finished PyBullet RCI runs among `run_ids`."""
  root = epath.Path(workdir) / "runs"
  found = [(root / rid, runs.read_result(root / rid)) for rid in sorted(run_ids)]
  return [(d, r) for d, r in found
          if r is not None and r["algo"] == "rci" and r["domain"] == "pybullet"]


def _key(c: float) -> str:
  """The cache key of c: exact for c ± 2^−8 beside the paper's c (10 digits),
  the same as `%g` wrote for every c of 6 or fewer digits."""
  return f"{c:.10g}"


def _agent_setting(record: dict, field: str):
  """`agent.<field>` of a run's record; runs recorded before it existed had
  its `runs.ADDED_FIELDS` value."""
  return record["config"]["agent"].get(field, runs.ADDED_FIELDS[f"agent.{field}"])


def boundary_grid(conditioners=PAPER_CONDITIONERS, step: float = BOUNDARY_STEP) -> list[float]:
  """c − step, c, c + step for each c, in order.

  Examples:
    >>> boundary_grid((1.0,))
    [0.99609375, 1.0, 1.00390625]
  """
  return [float(c) + d for c in conditioners for d in (-step, 0.0, step)]


def reevaluate_runs(workdir: str | epath.Path, run_ids: Collection[str], conditioners,
                    log: Callable[[str], None] = print) -> list[epath.Path]:
  """Plays every finished PyBullet RCI run among `run_ids` at `conditioners` and its c*.

  Args:
    workdir: the sweep's workdir (runs under `<workdir>/runs/`).
    run_ids: the runs to consider (a sweep's point ids); unfinished ones and
      other algorithms are left out.
    conditioners: c values to play (floats, finite).
    log: called with a line per run played.

  Returns:
    The run directories whose `conditioning.json` now holds every asked c.

  Raises:
    OfflineScalingError: when a conditioner is not finite, or no run among
      `run_ids` is a finished RCI run.
  """
  offline_run.check_conditioners(conditioners)
  found = _rci_runs(workdir, run_ids)
  if not found:
    raise OfflineScalingError(f"no finished PyBullet RCI run of this sweep under "
                              f"{epath.Path(workdir) / 'runs'}")
  for d, record in found:
    path = d / RECORD_NAME
    saved = json.loads(path.read_text()) if path.exists() else {"returns": {}}
    c_star = best_expert_conditioner(record)
    wanted = {_key(float(c)): float(c) for c in conditioners} | {_key(c_star): c_star}
    todo = [c for k, c in sorted(wanted.items(), key=lambda kv: kv[1])
            if k not in saved["returns"]]
    if not todo:
      continue
    played = pybullet_imitation.reevaluate(d, todo)
    saved["step"] = played["step"]
    saved["returns"].update({_key(c): played[f"c={c:g}/returns"] for c in todo})
    write_json_atomic(path, saved)   # a kill never leaves half a file
    log(f"{d.name} ({record['env']} e={record['expertise']:g} "
        f"{record['param_count']:,} params): played c = {', '.join(_key(c) for c in todo)}")
  return [d for d, _ in found]


def response_table(workdir: str | epath.Path, run_ids: Collection[str]) -> pd.DataFrame:
  """One row per (re-evaluated RCI run, c).

  Columns: run_id, env, expertise, param_count, size (the sweep point's
  requested size, else param_count), code_size (the return code's
  dimension), code_offset (its shift, return-range units), conditioner,
  asked_return (G_min + c·(G_max − G_min), env reward units), return_mean
  (over seeds and episodes), return_std (over the seeds' mean returns),
  seed_returns (each seed's mean return), at_best_expert (c is c*),
  best_expert_value, g_min, g_max.
  Sorted by env, expertise, code_size, code_offset, size, conditioner.
  """
  rows = []
  for d, record in _rci_runs(workdir, run_ids):
    if not (d / RECORD_NAME).exists():
      continue
    saved, point = json.loads((d / RECORD_NAME).read_text()), results.read_point(d)
    star_key = _key(best_expert_conditioner(record))
    g_min, g_max = record["dataset"]["g_min"], record["dataset"]["g_max"]
    periods = _agent_setting(record, "return_code_periods")
    offset = _agent_setting(record, "return_code_offset")
    for key, returns in saved["returns"].items():
      c = float(key)
      seeds = np.asarray(returns, float).mean(axis=-1)
      rows.append(dict(run_id=record["run_id"], env=record["env"],
                       expertise=record["expertise"], param_count=record["param_count"],
                       size=point.get("size", record["param_count"]),
                       code_size=return_embedding.code_size(periods), code_offset=offset,
                       conditioner=c,
                       asked_return=g_min + c * (g_max - g_min),
                       return_mean=float(seeds.mean()), return_std=float(seeds.std()),
                       seed_returns=tuple(seeds.tolist()), at_best_expert=key == star_key,
                       best_expert_value=record["best_expert_value"], g_min=g_min,
                       g_max=g_max))
  if not rows:
    raise OfflineScalingError(f"no {RECORD_NAME} under {epath.Path(workdir) / 'runs'}: "
                              "run reevaluate_runs first")
  return pd.DataFrame(rows).sort_values(RUN_KEYS + ["conditioner"], ignore_index=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
  """One row per run of `response_table`: env, expertise, code_size,
  code_offset, size, best_expert_value, best_c and best_return (the c with the
  highest mean return), c_star and return_at_c_star, return_at_c1 (NaN when
  c = 1 was not played)."""
  rows = []
  for _, g in table.groupby("run_id"):
    best = g.loc[g["return_mean"].idxmax()]
    star = g[g["at_best_expert"]].iloc[0]
    one = g.loc[g["conditioner"] == 1.0, "return_mean"]
    rows.append(dict(**{k: best[k] for k in RUN_KEYS},
                     best_expert_value=best["best_expert_value"], best_c=best["conditioner"],
                     best_return=best["return_mean"], c_star=star["conditioner"],
                     return_at_c_star=star["return_mean"],
                     return_at_c1=float(one.iloc[0]) if len(one) else np.nan))
  return pd.DataFrame(rows).sort_values(RUN_KEYS, ignore_index=True)


def boundary_summary(table: pd.DataFrame, step: float = BOUNDARY_STEP) -> pd.DataFrame:
  """One row per (run, c) of `response_table` played at c − step, c and c + step.

  Columns: env, expertise, code_size, code_offset, size, conditioner (c),
  return_below, return_at, return_above (mean returns at c − step, c, c + step),
  bits_below, bits_above (the run's code bits that differ between c and
  c ∓ step, `return_embedding.flipped_bits`), and the step's change in return
  paired over seeds with its 95% CI (`intervals.mean_ci`): jump_below (at c
  minus at c − step), jump_above (at c + step minus at c), each with _ci_low,
  _ci_high. Sorted as the table.

  Raises:
    OfflineScalingError: when no c of the table was played with both neighbours.
  """
  rows = []
  for _, g in table.groupby("run_id", sort=False):
    run = g.iloc[0]
    at = {_key(c): r for c, r in zip(g["conditioner"], g["return_mean"])}
    seeds = {_key(c): np.asarray(r) for c, r in zip(g["conditioner"], g["seed_returns"])}
    for c in sorted(g["conditioner"]):
      below, above = at.get(_key(c - step)), at.get(_key(c + step))
      if below is None or above is None:
        continue
      bits = return_embedding.flipped_bits(c, step, run["code_size"] // 2, run["code_offset"])
      jumps = {}
      for name, (lo, hi) in (("jump_below", (c - step, c)), ("jump_above", (c, c + step))):
        diff = seeds[_key(hi)] - seeds[_key(lo)]
        jumps[name] = float(diff.mean())
        jumps[f"{name}_ci_low"], jumps[f"{name}_ci_high"] = intervals.mean_ci(diff)
      rows.append(dict(**{k: run[k] for k in RUN_KEYS}, conditioner=c, return_below=below,
                       return_at=at[_key(c)], return_above=above, bits_below=bits[0],
                       bits_above=bits[1], **jumps))
  if not rows:
    raise OfflineScalingError(f"no conditioner was played at c ± {step:g} beside it: "
                              "play them first (rci_conditioning --boundary)")
  return pd.DataFrame(rows).sort_values(RUN_KEYS + ["conditioner"], ignore_index=True)
