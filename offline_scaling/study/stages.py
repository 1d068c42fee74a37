"""The PyBullet data stages of a sweep: train the expert zoo, collect its episodes.

Each stage skips what is already done (finished expert checkpoints, collected
policies), so re-running a sweep resumes it. With `num_tasks` > 1 each task
does its share (expert seed s and zoo policy i go to task s, i mod num_tasks).
Atari sweeps have no stage here: their runs read DQN Replay (or generate the
local stand-in on first use, see `train.atari_run`).

Layout under the sweep's workdir: `zoo/<env>/seed_<s>/`, `episodes/`
(shards + `policy_table.json`).
"""

from __future__ import annotations

from typing import Callable

import ml_collections
from etils import epath

from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.envs import canonical_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import collect, experts


def zoo_dir(workdir: str | epath.Path) -> epath.Path:
  """Where a sweep's expert checkpoints go."""
  return epath.Path(workdir) / "zoo"


def episodes_dir(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> epath.Path:
  """The collection the sweep's runs read: `sweep.data_dir` if given, else its own."""
  return epath.Path(sweep.data_dir) if sweep.data_dir else epath.Path(workdir) / "episodes"


def train_experts(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                  task_index: int = 0, num_tasks: int = 1,
                  log: Callable[[str], None] = print) -> None:
  """PPO seeds of every env (this task's share), checkpointed along the way."""
  e = sweep.experts
  config = ppo.default_config()
  for env in sweep.envs:
    for seed in experts.iter_seeds(e.seeds, task_index, num_tasks):
      def show(m, env=env, seed=seed):
        if m["env_steps"] % e.checkpoint_every == 0:
          log(f"experts: {env} seed {seed} at {m['env_steps']:,}/{e.total_steps:,} env steps, "
              f"training return {m['train_return']:.1f}")
      experts.train_expert(env, seed, zoo_dir(workdir), config, e.total_steps,
                           e.checkpoint_every, on_update=show)


def collect_episodes(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                     task_index: int = 0, num_tasks: int = 1,
                     log: Callable[[str], None] = print) -> None:
  """`sweep.collect.episodes` episodes of every zoo checkpoint (this task's share)."""
  def show(r: policy_table.PolicyRecord) -> None:
    log(f"collect: {r.policy_id} value {r.value:.1f} ({r.num_episodes} episodes)")
  for env in sweep.envs:
    collect.collect_zoo(zoo_dir(workdir), episodes_dir(sweep, workdir), sweep.collect.episodes,
                        env=env, task_index=task_index, num_tasks=num_tasks, on_policy=show)


def rewrite_table(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> None:
  """Rewrites the collection's policy table from every finished policy (after
  several processes collected at once, each wrote the table it had seen)."""
  root = episodes_dir(sweep, workdir)
  policy_table.write_policy_table(root / policy_table.TABLE_NAME, collect.finished_records(root))


def check_data(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> epath.Path:
  """The collection's directory, once it holds every policy the runs need.

  Raises:
    OfflineScalingError: when the table is missing, or (own collection) some
      zoo checkpoint of a sweep env has no episodes yet.
  """
  root = episodes_dir(sweep, workdir)
  table = root / policy_table.TABLE_NAME
  if not table.exists():
    raise OfflineScalingError(f"{table} does not exist: run the data stages first "
                              "(--stage=experts, then --stage=collect)")
  if not sweep.data_dir:
    envs = {canonical_name(env) for env in sweep.envs}
    have = {r.policy_id for r in policy_table.read_policy_table(table) if r.env in envs}
    missing = [p.policy_id for env in sweep.envs
               for p in experts.list_zoo(zoo_dir(workdir), env) if p.policy_id not in have]
    expected = len(sweep.envs) * sweep.experts.seeds * (
        sweep.experts.total_steps // sweep.experts.checkpoint_every)
    if missing or len(have) < expected:
      raise OfflineScalingError(
          f"{table} holds {len(have)} of the {expected} policies of the zoo "
          f"(missing e.g. {missing[:3]}): finish --stage=experts and --stage=collect "
          "on every task first")
  return root
