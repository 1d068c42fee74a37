"""The policy table: per expert policy, its value and where its episodes are.

A policy's *value* is the mean undiscounted return of its collected episodes;
expertise selection orders policies by it. The table is a JSON file:

    {"version": 1, "policies": [{"policy_id": ..., "env": ..., "seed": ...,
      "checkpoint_step": ..., "value": ..., "std": ..., "num_episodes": ...,
      "num_steps": ..., "shard": <path relative to the table's directory>}, ...]}
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
from etils import epath

from offline_scaling.data.episodes import TMP_SUFFIX, Episode
from offline_scaling.errors import OfflineScalingError

TABLE_NAME = "policy_table.json"


@dataclasses.dataclass(frozen=True)
class PolicyRecord:
  """One row of the policy table (returns in env reward units, steps = transitions)."""
  policy_id: str
  env: str
  seed: int
  checkpoint_step: int
  value: float
  std: float
  num_episodes: int
  num_steps: int
  shard: str


def summarize(episodes: list[Episode], shard: str) -> PolicyRecord:
  """The table row of one policy's collected episodes (all from that policy)."""
  if not episodes:
    raise OfflineScalingError(f"no episodes to summarise for shard '{shard}'")
  first = episodes[0]
  returns = np.array([e.episode_return for e in episodes])
  return PolicyRecord(policy_id=first.policy_id, env=first.env, seed=first.seed,
                      checkpoint_step=first.checkpoint_step, value=float(returns.mean()),
                      std=float(returns.std()), num_episodes=len(episodes),
                      num_steps=int(sum(e.length for e in episodes)), shard=shard)


def write_json_atomic(path: epath.Path, obj) -> None:
  """Writes JSON to a temporary name, then renames: readers see all or nothing.

  The temporary name holds the process id, so processes writing the same file
  at once (the collect stage's tasks each rewrite the policy table) never
  rename each other's file away; the last rename wins, whole.
  """
  path = epath.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.parent / f"{path.name}.{os.getpid()}{TMP_SUFFIX}"
  tmp.write_text(json.dumps(obj, indent=1))
  tmp.replace(path)  # not rename: etils refuses to rename over an existing file


def write_policy_table(path: str | epath.Path, records: list[PolicyRecord]) -> None:
  """Writes `records` (sorted by env, seed, checkpoint step) atomically to `path`."""
  records = sorted(records, key=lambda r: (r.env, r.seed, r.checkpoint_step))
  write_json_atomic(epath.Path(path), {"version": 1,
                                       "policies": [dataclasses.asdict(r) for r in records]})


def read_policy_table(path: str | epath.Path) -> list[PolicyRecord]:
  """Reads and checks a policy table.

  Raises:
    OfflineScalingError: naming the file and field when it is missing, not
      JSON, or a row lacks a field or has a non-finite value.
  """
  path = epath.Path(path)
  if path.suffix != ".json":  # a collection directory
    path = path / TABLE_NAME
  if not path.exists():
    raise OfflineScalingError(f"policy table '{path}' does not exist")
  try:
    rows = json.loads(path.read_text())["policies"]
  except (json.JSONDecodeError, KeyError, TypeError) as e:
    raise OfflineScalingError(f"policy table '{path}' is not a valid table ({e!r})") from None
  fields = {f.name: f.type for f in dataclasses.fields(PolicyRecord)}
  out = []
  for i, row in enumerate(rows):
    missing = sorted(set(fields) - set(row))
    if missing:
      raise OfflineScalingError(f"policy table '{path}': row {i} lacks field(s) {missing}")
    record = PolicyRecord(**{k: row[k] for k in fields})
    if not np.isfinite(record.value):
      raise OfflineScalingError(
          f"policy table '{path}': row {i} ({record.policy_id}) has value {record.value}")
    out.append(record)
  return out
