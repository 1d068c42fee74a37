"""Rolling out every expert of a zoo into episode shards and a policy table.

Output layout under `<out>/`:

    shards/<env>/seed_<s>/<env_step>.tfrecord   the policy's episodes
    shards/<env>/seed_<s>/<env_step>.json       its policy-table row (written last)
    policy_table.json                           every finished policy's row

A policy is done when its row file exists: the row is written after the shard
is renamed into place, so a kill at any moment leaves either a finished
policy or one whose collection is continued from the shard in place (the
same episodes a collection from scratch would play). A top-up
(`collect_policy` with `min_steps`) rewrites shard and row the same way.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Callable

from etils import epath

from offline_scaling.data import episodes as episodes_lib
from offline_scaling.data import policy_table
from offline_scaling.envs import make_env
from offline_scaling.train import rollout
from offline_scaling.train.experts import ZooPolicy, list_zoo


def shard_path(out: epath.Path, p: ZooPolicy) -> epath.Path:
  """`<out>/shards/<env>/seed_<s>/<env_steps>.tfrecord`: policy p's episode shard."""
  return epath.Path(out) / "shards" / p.env / f"seed_{p.seed}" / f"{p.env_steps}.tfrecord"


def collection_seed(p: ZooPolicy) -> int:
  """A stable per-policy seed, so re-collecting a policy gives the same episodes."""
  return zlib.crc32(p.policy_id.encode()) & 0x7FFFFFFF


def collect_policy(p: ZooPolicy, out: epath.Path, num_episodes: int, min_steps: int = 0
                   ) -> policy_table.PolicyRecord:
  """Rolls out one expert (sampling its stochastic policy) until its shard holds
  at least `num_episodes` episodes and `min_steps` transitions; writes shard + row.

  A shard already there (an earlier collection, or a top-up killed after its
  shard landed) is continued: new episodes take the next indices and resets
  (`rollout.iter_episodes`), so the shard holds what one collection of that
  many episodes would. The whole shard is rewritten atomically, then its row;
  with nothing left to play only the row is written. The last episode is
  played whole, so `min_steps` may be passed by up to one episode.

  Args:
    p: the expert.
    out: the collection's directory.
    num_episodes: episodes the shard must hold at least.
    min_steps: transitions the shard must hold at least (0: no bound).

  Returns:
    The policy's row (value = mean return of all its episodes).
  """
  path = shard_path(out, p)
  eps = list(episodes_lib.read_shard(path)) if path.exists() else []
  steps = sum(ep.length for ep in eps)
  if len(eps) < num_episodes or steps < min_steps:
    policy, _ = p.load()
    seed = collection_seed(p)
    env = make_env(p.env, seed=seed)
    for ep in rollout.iter_episodes(env, rollout.ppo_act_fn(policy), seed, start=len(eps)):
      ep.policy_id, ep.env, ep.seed, ep.checkpoint_step, ep.index = (
          p.policy_id, p.env, p.seed, p.env_steps, len(eps))
      eps.append(ep)
      steps += ep.length
      if len(eps) >= num_episodes and steps >= min_steps:
        break
    env.close()
    episodes_lib.write_shard(path, eps)
  record = policy_table.summarize(eps, str(path.relative_to(out)))
  policy_table.write_json_atomic(path.with_suffix(".json"), dataclasses.asdict(record))
  return record


def finished_records(out: epath.Path) -> list[policy_table.PolicyRecord]:
  """The rows of every policy whose collection finished."""
  rows = sorted((epath.Path(out) / "shards").glob("*/seed_*/*.json"))
  return [policy_table.PolicyRecord(**json.loads(r.read_text())) for r in rows]


def collect_zoo(zoo: str | epath.Path, out: str | epath.Path, num_episodes: int,
                env: str | None = None, task_index: int = 0, num_tasks: int = 1,
                on_policy: Callable[[policy_table.PolicyRecord], None] | None = None
                ) -> epath.Path:
  """Collects `num_episodes` per policy for this task's share of the zoo.

  Policy i (in id order) belongs to task i mod num_tasks. Finished policies
  are skipped, so a killed collection resumes where it stopped. The policy
  table is rewritten from every finished row at the end (by each task; the
  last to finish writes the complete one).

  Args:
    zoo: the expert zoo directory (`train_expert`'s output).
    out: where shards and the policy table go.
    num_episodes: episodes played per policy.
    env: collect only this env's experts (None: all).
    task_index: this worker's index in [0, num_tasks).
    num_tasks: number of workers the policies are split over.
    on_policy: called with each policy's row when it is written.

  Returns:
    The path of `<out>/policy_table.json`.
  """
  out = epath.Path(out)
  policies = list_zoo(zoo, env)
  for i, p in enumerate(policies):
    if i % num_tasks != task_index or shard_path(out, p).with_suffix(".json").exists():
      continue
    record = collect_policy(p, out, num_episodes)
    if on_policy:
      on_policy(record)
  table = out / policy_table.TABLE_NAME
  policy_table.write_policy_table(table, finished_records(out))
  return table
