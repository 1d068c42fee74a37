"""The PyBullet data stages of a sweep: train the expert zoo, collect its episodes.

Each stage skips what is already done (finished expert checkpoints, collected
policies, policies topped up), so re-running a sweep resumes it. With
`num_tasks` > 1 each task does its share (expert seed s and zoo policy i go
to task s, i mod num_tasks). Under `collect.one_pass` the collect stage then
sizes the collection for the points' sample budgets (`size_for_one_pass`,
`study.sizing`): each round needs the whole table, so that part runs in a
stage with `num_tasks` = 1, its top-ups spread over the `map_fn` it is given
(`map`, or a process pool's).
Atari sweeps have no stage here: their runs read DQN Replay (or generate the
local stand-in on first use, see `train.atari_run`). A MinAtar sweep's
experts stage is its replay (`train_replay`): online DQN runs logged
checkpoint by checkpoint, run r of each game going to task r − 1 mod num_tasks.

Layout under the sweep's workdir: `zoo/<env>/seed_<s>/`, `episodes/`
(shards + `policy_table.json`); MinAtar: `replay/<game>/` (`train.online_dqn`).
"""

from __future__ import annotations

import json
from typing import Callable, Iterable

import ml_collections
from etils import epath

from offline_scaling.agents import ppo
from offline_scaling.data import policy_table
from offline_scaling.envs import canonical_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid, sizing
from offline_scaling.train import collect, experts, online_dqn

# map_fn(fn, jobs) -> results: how the top-ups of a round are run (`map`, or a pool's).
MapFn = Callable[[Callable, Iterable], Iterable]


def zoo_dir(workdir: str | epath.Path) -> epath.Path:
  """Where a sweep's expert checkpoints go."""
  return epath.Path(workdir) / "zoo"


def episodes_dir(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> epath.Path:
  """The collection the sweep's runs read: `sweep.data_dir` if given, else its own."""
  return epath.Path(sweep.data_dir) if sweep.data_dir else epath.Path(workdir) / "episodes"


def owns_data(sweep: ml_collections.ConfigDict) -> bool:
  """Whether the sweep makes its own data (PyBullet's zoo and collection,
  MinAtar's replay) rather than reading a `data_dir` or the Atari source."""
  if sweep.domain == "pybullet":
    return not sweep.data_dir
  return sweep.domain == "minatar" and not sweep.data.data_dir


def data_dir(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> epath.Path:
  """Where the sweep's runs read their data: PyBullet's collection
  (`episodes_dir`), MinAtar's replay (`sweep.data.data_dir`, or its own
  `<workdir>/replay`); Atari's runs name their own source (an empty path)."""
  if sweep.domain == "pybullet":
    return episodes_dir(sweep, workdir)
  if sweep.domain == "minatar":
    return epath.Path(sweep.data.data_dir or epath.Path(workdir) / "replay")
  return epath.Path("")


def train_replay(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                 task_index: int = 0, num_tasks: int = 1,
                 log: Callable[[str], None] = print) -> None:
  """The MinAtar replay: `replay.runs` online DQN runs of every game (this
  task's share, played in lockstep), each logged checkpoint by checkpoint
  (`online_dqn.train_runs`)."""
  config = grid.replay_config(sweep)
  root = data_dir(sweep, workdir)
  mine = [seed + 1 for seed in experts.iter_seeds(sweep.replay.runs, task_index, num_tasks)]
  for game in sweep.envs:
    def show(r, game=game):
      log(f"replay: {game} run {r['run']} at {r['frames']:,}/{config.frames:,} frames, "
          f"training return {r['return_raw']}, ε {r['epsilon']:.3f}, "
          f"{r['steps_per_s']:,} frames/s")
    online_dqn.train_runs(game, mine, root, config, on_checkpoint=show)
    online_dqn.write_policy_table(root, game)


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


def value_zoo(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
              task_index: int = 0, num_tasks: int = 1,
              log: Callable[[str], None] = print) -> None:
  """The valuation collection: `sweep.collect.episodes` episodes of every zoo
  checkpoint (this task's share), which give each policy its value."""
  def show(r: policy_table.PolicyRecord) -> None:
    log(f"collect: {r.policy_id} value {r.value:.1f} ({r.num_episodes} episodes)")
  for env in sweep.envs:
    collect.collect_zoo(zoo_dir(workdir), episodes_dir(sweep, workdir), sweep.collect.episodes,
                        env=env, task_index=task_index, num_tasks=num_tasks, on_policy=show)


def collect_episodes(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                     task_index: int = 0, num_tasks: int = 1,
                     log: Callable[[str], None] = print) -> None:
  """The collect stage of this task: `value_zoo`, then under `collect.one_pass`
  `size_for_one_pass` (with one task; with more it says how to run it)."""
  value_zoo(sweep, workdir, task_index, num_tasks, log)
  if not sweep.collect.one_pass:
    return
  if num_tasks > 1:
    log(f"collect: task {task_index} of {num_tasks} valued its share; sizing for one pass "
        "needs the whole table: run --stage=collect once more with --num_tasks=1 when every "
        "task is done (--workers=N spreads its top-ups)")
    return
  size_for_one_pass(sweep, workdir, log)


def _top_up(job: tuple) -> policy_table.PolicyRecord:
  """`collect_policy(policy, out, episodes)` of one job (picklable, for pools)."""
  return collect.collect_policy(*job)


def size_for_one_pass(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                      log: Callable[[str], None] = print, map_fn: MapFn = map) -> None:
  """Tops the policies the points select up until no selected policy lacks
  data (`study.sizing`), at most `sizing.MAX_ROUNDS` rounds of select → top up;
  rewrites the policy table after each round and records the outcome
  (rounds, converged, the policies still lacking) in `<collection>/one_pass.json`
  when it topped anything up. A killed sizing resumes: a topped-up policy's
  row holds its new count, so it is not played again, and a policy killed
  mid top-up continues from the shard in place (`collect.collect_policy`).

  Raises:
    OfflineScalingError: when some zoo policy has no valuation yet.
  """
  root = episodes_dir(sweep, workdir)
  zoo = {p.policy_id: p for env in sweep.envs for p in experts.list_zoo(zoo_dir(workdir), env)}
  records = collect.finished_records(root)
  unvalued = sorted(set(zoo) - {r.policy_id for r in records})
  if unvalued:
    raise OfflineScalingError(
        f"{root} lacks the valuation of {len(unvalued)} zoo policies (e.g. {unvalued[0]}): "
        "finish --stage=collect on every task before it is sized for one pass")
  # A round's targets are saved before it plays, so a killed round resumes with
  # them: computed again from a half-topped-up table they could differ.
  pending = root / sizing.ROUND_NAME
  rounds = 0
  while True:
    if pending.exists():
      saved = json.loads(pending.read_text())
      rounds = saved["round"]
      short = {pid: sizing.Shortfall(*v) for pid, v in saved["short"].items()}
    else:
      short = sizing.lacking(sweep, records)
      if not short or rounds >= sizing.MAX_ROUNDS:
        break
      rounds += 1
      policy_table.write_json_atomic(pending, dict(
          round=rounds, short={pid: list(v) for pid, v in short.items()}))
    log(f"collect: one pass, round {rounds}: topping up {len(short)} policies by "
        f"{sum(s.target - s.episodes for s in short.values()):,} episodes (about "
        f"{sum(s.steps for s in short.values()):,} transitions)")
    jobs = [(zoo[pid], root, max(s.target, sweep.collect.episodes))
            for pid, s in short.items()]
    for r in map_fn(_top_up, jobs):
      log(f"collect: {r.policy_id} holds {r.num_steps:,} transitions ({r.num_episodes} "
          f"episodes), value {r.value:.1f}")
    rewrite_table(sweep, workdir)
    records = collect.finished_records(root)
    pending.unlink()
  if rounds or not (root / sizing.RECORD_NAME).exists():
    policy_table.write_json_atomic(root / sizing.RECORD_NAME, dict(
        rounds=rounds, converged=not short,
        lacking={k: [v.episodes, v.target] for k, v in short.items()}))
  if short:
    log(f"collect: one pass did not converge in {rounds} rounds: {len(short)} selected "
        "policies still lack data (their runs end when their one pass does)")
  elif rounds:
    log(f"collect: sized for one pass after {rounds} round(s) of top-up")


def rewrite_table(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> None:
  """Rewrites the collection's policy table from every finished policy (after
  several processes collected at once, each wrote the table it had seen)."""
  root = episodes_dir(sweep, workdir)
  policy_table.write_policy_table(root / policy_table.TABLE_NAME, collect.finished_records(root))


def check_data(sweep: ml_collections.ConfigDict, workdir: str | epath.Path) -> epath.Path:
  """The collection's directory, once it holds every policy the runs need.

  Raises:
    OfflineScalingError: when the table is missing, or (own collection) some
      zoo checkpoint of a sweep env has no episodes yet, or (`collect.one_pass`)
      the collection is not sized for the sweep's budgets.
  """
  root = episodes_dir(sweep, workdir)
  table = root / policy_table.TABLE_NAME
  if not table.exists():
    raise OfflineScalingError(f"{table} does not exist: run the data stages first "
                              "(--stage=experts, then --stage=collect)")
  if not sweep.data_dir:
    envs = {canonical_name(env) for env in sweep.envs}
    records = policy_table.read_policy_table(table)
    have = {r.policy_id for r in records if r.env in envs}
    missing = [p.policy_id for env in sweep.envs
               for p in experts.list_zoo(zoo_dir(workdir), env) if p.policy_id not in have]
    expected = len(sweep.envs) * sweep.experts.seeds * (
        sweep.experts.total_steps // sweep.experts.checkpoint_every)
    if missing or len(have) < expected:
      raise OfflineScalingError(
          f"{table} holds {len(have)} of the {expected} policies of the zoo "
          f"(missing e.g. {missing[:3]}): finish --stage=experts and --stage=collect "
          "on every task first")
    if sweep.collect.one_pass:
      _check_one_pass(sweep, root, records)
  return root


def _check_one_pass(sweep: ml_collections.ConfigDict, root: epath.Path,
                    records: list[policy_table.PolicyRecord]) -> None:
  """Refuses a collection not sized for this sweep's budgets, unless its
  sizing stopped short with these very policies lacking (`one_pass.json`)."""
  short = sizing.lacking(sweep, records)
  record = root / sizing.RECORD_NAME
  known = json.loads(record.read_text())["lacking"] if record.exists() else {}
  new = [pid for pid in short if pid not in known]
  if new:
    held, target, _ = short[new[0]]
    raise OfflineScalingError(
        f"{root} is not sized for one pass of this sweep: {len(new)} selected policies hold "
        f"fewer episodes than their share (e.g. {new[0]}: {held:,} of {target:,}); run "
        "--stage=collect with --num_tasks=1 (--workers=N spreads it)")
