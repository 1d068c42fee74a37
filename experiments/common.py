"""What every launch script shares: quiet logs and one-line errors."""

from __future__ import annotations

import ast
import json
import sys
from typing import Callable

from absl import app, logging

from offline_scaling.errors import OfflineScalingError


def run(main: Callable[[list[str]], None]) -> None:
  """`absl.app.run(main)`, printing an `OfflineScalingError` as one line (exit 1)."""
  def wrapped(argv):
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    try:
      main(argv)
    except OfflineScalingError as e:
      print(f"error: {e}", file=sys.stderr)
      sys.exit(1)
  app.run(wrapped)


def apply_overrides(config, flag_values, overrides: dict[str, str]):
  """Sets config fields from the flags the user gave.

  Args:
    overrides: flag name -> dotted config field ('steps' -> 'train.steps').
      A flag left at None is not applied. `conditioners` (a list flag) becomes
      a tuple of floats.
  """
  for flag, field in overrides.items():
    value = flag_values[flag].value
    if value is None:
      continue
    if flag == "conditioners":
      try:
        value = tuple(float(x) for x in value)
      except ValueError:
        raise OfflineScalingError(f"--conditioners={','.join(value)} must be numbers") from None
    *parents, leaf = field.split(".")
    node = config
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


def print_result(result: dict, workdir: str) -> None:
  """The headline fields of a run's result record, and where the record is."""
  shown = {k: result[k] for k in ("run_id", "algo", "env", "expertise", "param_count", "steps",
                                  "samples_seen", "passes", "eval_return", "best_expert_value")}
  if result.get("value_unit") == "clipped":   # the comparison in one unit, and the game score
    shown.update(value_unit="clipped", eval_raw_return=result["eval_raw_return"])
  print(json.dumps(shown, indent=1))
  skipped = result["dataset"].get("skipped_episodes", 0)
  if skipped:
    print(f"skipped {skipped} bad episodes (listed under dataset.skipped in result.json)")
  print(f"result: {workdir}/{result['run_id']}/result.json")


def _literal(text: str):
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def load_sweep(name: str, sets: list[str]):
  """The named sweep with `--set=FIELD=VALUE` overrides applied on top (VALUE a
  Python literal; a bare word is a string)."""
  from offline_scaling.study import grid  # pylint: disable=g-import-not-at-top
  config = grid.get_sweep(name)
  for item in sets:
    field, sep, value = item.partition("=")
    if not sep:
      raise OfflineScalingError(f"--set={item} must read FIELD=VALUE")
    grid.override(config, field, _literal(value))
  return config
