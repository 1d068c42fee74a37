"""Run identity and the one result record a finished run writes."""

from __future__ import annotations

import hashlib
import json

import ml_collections
from etils import epath

from offline_scaling.errors import OfflineScalingError

RESULT_NAME = "result.json"

# Fields added after run ids were published, with the value every earlier run
# had: hashed only when set otherwise, so that earlier runs keep their ids (and
# resume, and sweeps find them done). Matched on the end of the dotted path.
ADDED_FIELDS = {"agent.return_code_periods": 16, "agent.return_code_offset": 0.0,
                "agent.return_conditioning": "input", "equal_episodes": False,
                # a sweep point's data settings (`study.grid.identity`)
                "collect.one_pass": False, "collect.max_steps_per_policy": 0}


def _hashed(tree: dict, path: str = "") -> dict:
  """`tree` without the `ADDED_FIELDS` that hold their earlier value."""
  out = {}
  for key, value in tree.items():
    dotted = f"{path}.{key}" if path else key
    if isinstance(value, dict):
      out[key] = _hashed(value, dotted)
    elif not any((dotted == f or dotted.endswith("." + f)) and value == v
                 for f, v in ADDED_FIELDS.items()):
      out[key] = value
  return out


def run_id(config: ml_collections.ConfigDict, length: int = 12) -> str:
  """A stable id: the hash of the config's canonical JSON (sorted keys; the
  `ADDED_FIELDS` left out while they hold their earlier value).

  Args:
    config: the run's full config.
    length: number of hex digits kept (of the SHA-256).

  Examples:
    >>> a = ml_collections.ConfigDict({"steps": 100, "learning_rate": 3e-4})
    >>> b = ml_collections.ConfigDict({"learning_rate": 3e-4, "steps": 100})
    >>> run_id(a) == run_id(b), len(run_id(a))   # field order does not matter
    (True, 12)
    >>> run_id(a) == run_id(ml_collections.ConfigDict({"steps": 101, "learning_rate": 3e-4}))
    False
  """
  text = json.dumps(_hashed(config.to_dict()), sort_keys=True, default=str)
  return hashlib.sha256(text.encode()).hexdigest()[:length]


def truncate_jsonl(path: str | epath.Path, key: str, last: int) -> None:
  """Drops the lines of a JSONL log whose `key` exceeds `last`: what a run killed
  after its last checkpoint logged, and will log again when it resumes. A last
  line cut short by the kill (not JSON) goes too."""
  path = epath.Path(path)
  if path.exists():
    text = path.read_text()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
      lines.pop()
    keep = [l for l in lines if l and json.loads(l)[key] <= last]
    path.write_text("".join(l + "\n" for l in keep))


def read_result(run_dir: str | epath.Path) -> dict | None:
  """The run's `result.json` record, or None if the run has not finished."""
  path = epath.Path(run_dir) / RESULT_NAME
  return json.loads(path.read_text()) if path.exists() else None


def finished_result(run_dir: str | epath.Path) -> dict:
  """The result record of a run that must have finished (to be re-evaluated, say).

  Raises:
    OfflineScalingError: naming the run directory when it has no result.
  """
  record = read_result(run_dir)
  if record is None:
    raise OfflineScalingError(f"{run_dir} has no {RESULT_NAME}: the run has not finished")
  return record


def write_result(run_dir: str | epath.Path, record: dict) -> epath.Path:
  """Writes the run's result atomically, once: an existing result is never replaced."""
  # Imported here: `data` loads TensorFlow, and the loop (which imports this
  # module) runs without it.
  from offline_scaling.data import policy_table  # pylint: disable=g-import-not-at-top
  path = epath.Path(run_dir) / RESULT_NAME
  if not path.exists():
    policy_table.write_json_atomic(path, record)
  return path
