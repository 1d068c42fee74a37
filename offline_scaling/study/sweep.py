"""Running a sweep: plan its points, run the data stages and the points not yet done.

Every point runs in `<workdir>/runs/<point id>/` (see `study.grid.point_id`)
and writes its `result.json` once, atomically (`train.runs`); a point with a
result is never run again, and a killed point resumes from its checkpoint.
While a process runs a point it holds an exclusive `flock` on the point's
`.lock` file, which the OS releases when the process dies, so two sweeps (or
two workers) never run the same point at once. Worker processes die with the
sweep that started them (Linux `PR_SET_PDEATHSIG`), so a killed sweep leaves
no orphan behind to race its restart.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import dataclasses
import fcntl
import multiprocessing
import signal
import sys
import time
from typing import Callable

import ml_collections
from etils import epath

from offline_scaling.data import policy_table
from offline_scaling.data.policy_table import write_json_atomic
from offline_scaling.envs import canonical_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import archive as archives
from offline_scaling.study import grid, sizing, stages
from offline_scaling.nets import minatar as minatar_nets
from offline_scaling.train import collect, minatar_run, offline_run, online_dqn, runs

STAGES = ("all", "experts", "collect", "train")
POINT_NAME = "point.json"
# Rough 2-core CPU rate of mid-size MLP updates (docs/performance.md), for --dry_run.
CPU_FLOPS_PER_S = 1e11
# Impala-CNN parameters at width ×1 (docs/performance.md); they grow ~ width².
IMPALA_X1_PARAMS = 2.26e6
# Env steps/s of one collecting process, for --dry_run: `benchmarks.collect`
# (collect_policy on a PPO expert, Hopper) on 2026-12-04, the 2-core AMD EPYC
# shared with other work: medians 2,490 (raw HopperBulletEnv 4,394 steps/s)
# and 2,058 (raw 3,837) in two runs; the lower, rounded.
COLLECT_STEPS_PER_S = 2_000
# Online DQN frames per second for the MinAtar replay (one run, the reference
# network): Breakout, `benchmarks.minatar_dqn` on 2026-12-07, idle 2-core AMD
# EPYC (matmul peak 164 GFLOP/s): 1,440; rounded down.
REPLAY_FRAMES_PER_S = 1_400


@dataclasses.dataclass(frozen=True)
class Planned:
  """A point of this task's share, its run id, and whether it has a result."""
  point: grid.Point
  run_id: str
  done: bool


def runs_dir(workdir: str | epath.Path) -> epath.Path:
  """Where a sweep's points run: `<workdir>/runs/<point id>/`."""
  return epath.Path(workdir) / "runs"


def plan(sweep: ml_collections.ConfigDict, workdir: str | epath.Path, task_index: int = 0,
         num_tasks: int = 1, archive: str | epath.Path | None = None) -> list[Planned]:
  """This task's points (every `num_tasks`-th of the grid), done or not (done:
  with a result in `workdir`, or in `archive` when it exists)."""
  share = grid.partition(grid.points(sweep), task_index, num_tasks)
  kept = (archives.archived(archive) if archive is not None and epath.Path(archive).exists()
          else {})
  out = []
  for p in share:
    rid = grid.point_id(sweep, p)
    out.append(Planned(p, rid, rid in kept or
                       runs.read_result(runs_dir(workdir) / rid) is not None))
  return out


def estimate(sweep: ml_collections.ConfigDict, planned: list[Planned]) -> dict:
  """Rough cost of the points still to run: sample-updates and MLP FLOPs.

  FLOPs count 6 × parameters per sample (forward + backward of a dense net);
  for Atari's convolutions the true figure is several times higher.
  """
  todo = [p for p in planned if not p.done]
  train = sweep.run.get("train", {})
  steps = train.get("steps", 10_000)
  batch = train.get("batch_size", 256 if sweep.domain == "pybullet" else 32)
  samples = len(todo) * steps * batch * sweep.num_seeds
  params = sum(_params(sweep, p.point.size) for p in todo)
  flops = 6 * params * steps * batch * sweep.num_seeds
  return dict(points=len(planned), to_run=len(todo), sample_updates=samples, flops=flops,
              cpu_hours=flops / CPU_FLOPS_PER_S / 3600)


def _params(sweep: ml_collections.ConfigDict, size: float) -> float:
  """A point's parameters, roughly: the count itself (PyBullet), the Impala-CNN's
  ~width² growth (Atari), the MinAtar CNN with its FC layer on 4 channels."""
  if sweep.domain == "pybullet":
    return size
  if sweep.domain == "atari":
    return IMPALA_X1_PARAMS * size ** 2
  return minatar_nets.param_count(size, 4, 6, hidden=sweep.run.get("hidden", 128))


def collection_estimate(sweep: ml_collections.ConfigDict,
                        workdir: str | epath.Path) -> dict | None:
  """What the collect stage has left to play, in env steps; None when the
  sweep collects nothing (Atari, or `data_dir`).

  Returns:
    dict(policies: the zoo's; to_value: policies without a valuation;
    value_steps: an upper bound on their valuation (every episode
    `sizing.MAX_EPISODE_STEPS` long); top_up_steps: the one-pass top-up (0
    without `collect.one_pass`); top_up_exact: False while some policy is
    unvalued (then `sizing.top_up_bound`, an upper bound), True once the
    table is whole (then the first round's shortfall from it, at each
    policy's mean episode length; values that move can select more);
    top_up_policies: the policies that round tops up (None with a bound);
    hours: both at COLLECT_STEPS_PER_S in one process).
  """
  if sweep.domain != "pybullet" or sweep.data_dir:
    return None
  root = stages.episodes_dir(sweep, workdir)
  envs = {canonical_name(env) for env in sweep.envs}
  records = collect.finished_records(root)
  valued = {r.policy_id for r in records if r.env in envs}
  e = sweep.experts
  policies = len(envs) * e.seeds * (e.total_steps // e.checkpoint_every)
  to_value = max(policies - len(valued), 0)
  out = dict(policies=policies, to_value=to_value,
             value_steps=to_value * sweep.collect.episodes * sizing.MAX_EPISODE_STEPS,
             top_up_steps=0, top_up_exact=True, top_up_policies=0)
  if sweep.collect.one_pass and to_value:
    out.update(top_up_steps=sizing.top_up_bound(sweep, policies), top_up_exact=False,
               top_up_policies=None)
  elif sweep.collect.one_pass:
    short = sizing.lacking(sweep, records)
    out.update(top_up_steps=sum(s.steps for s in short.values()), top_up_policies=len(short))
  out["hours"] = (out["value_steps"] + out["top_up_steps"]) / COLLECT_STEPS_PER_S / 3600
  return out


def replay_estimate(sweep: ml_collections.ConfigDict,
                    workdir: str | epath.Path) -> dict | None:
  """What the MinAtar replay stage has left to play; None when the sweep logs
  no replay (another domain, or `data.data_dir`).

  Returns:
    dict(runs: games × runs, frames: all of them, done: frames already
    logged, hours: the rest at REPLAY_FRAMES_PER_S, one run at a time).
  """
  if sweep.domain != "minatar" or sweep.data.data_dir:
    return None
  root = stages.data_dir(sweep, workdir)
  r = sweep.replay
  done = sum(min(online_dqn.frames_done(root, game, run), r.frames)
             for game in sweep.envs for run in range(1, r.runs + 1))
  total = len(sweep.envs) * r.runs * r.frames
  return dict(runs=len(sweep.envs) * r.runs, frames=total, done=done,
              hours=(total - done) / REPLAY_FRAMES_PER_S / 3600)


def same_data(sweep: ml_collections.ConfigDict, points: dict[str, grid.Point],
              data_dir: str) -> Callable[[dict], bool] | None:
  """`archive.restore`'s check for a sweep that makes its own data (None for
  one that reads fixed data): an archived point's recorded selection, its
  policies and their values, is what the data in `data_dir` select for it now.
  A zoo or replay trained again on another machine differs in its values.

  Args:
    sweep: the sweep.
    points: run id -> point, the points that may be restored.
    data_dir: the sweep's data (`stages.data_dir`).
  """
  if not stages.owns_data(sweep):
    return None

  tables = {}   # each data root's policy table, read once

  def accept(record: dict) -> bool:
    config = grid.run_config(sweep, points[record["run_id"]], data_dir)
    root = (epath.Path(config.data) if sweep.domain == "pybullet"
            else minatar_run.data_root(config))
    if root not in tables:
      tables[root] = policy_table.read_policy_table(root / policy_table.TABLE_NAME)
    now = offline_run.select(tables[root], config)[1].to_dict()
    return all(list(now[k]) == list(record["selection"][k]) for k in ("policy_ids", "values"))
  return accept


def _die_with_parent() -> None:
  """Worker initializer: the kernel kills this process when the sweep dies."""
  if sys.platform.startswith("linux"):
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _process_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
  """`workers` spawned processes that die with the sweep."""
  return concurrent.futures.ProcessPoolExecutor(
      workers, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent)


def run_point(domain: str, config: dict, workdir: str, run_id: str) -> dict | None:
  """Runs one point under its lock; None when another live process holds it."""
  run_dir = runs_dir(workdir) / run_id
  run_dir.mkdir(parents=True, exist_ok=True)
  with open(run_dir / ".lock", "w") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      return None
    train = grid.run_module(domain, config["algo"] if domain != "pybullet"
                            else config["agent"]["algo"]).run
    return train(ml_collections.ConfigDict(config), runs_dir(workdir), progress=False,
                 run_id=run_id)


DATA_STAGES = {"experts": stages.train_experts, "collect": stages.collect_episodes}
# A MinAtar sweep's data: its replay, logged by online DQN runs (the experts stage).
MINATAR_STAGES = {"experts": stages.train_replay}
# What each process of a pool runs: the collect stage's valuation (its sizing
# for one pass needs the whole table: it runs after, spread over the same pool).
POOLED_STAGES = {"experts": stages.train_experts, "collect": stages.value_zoo}


def _data_task(sweep_dict: dict, workdir: str, stage: str, task_index: int,
               num_tasks: int) -> None:
  """One process's share of the data stage `stage` (a picklable pool job)."""
  sweep = ml_collections.ConfigDict(sweep_dict)
  stage_fns = MINATAR_STAGES if sweep.domain == "minatar" else POOLED_STAGES
  stage_fns[stage](sweep, workdir, task_index, num_tasks)


def _data_stages(sweep, workdir, stage, task_index, num_tasks, workers, log) -> None:
  """The data stages (PyBullet's zoo and collection, MinAtar's replay); with
  `workers` > 1 (and one task) each stage is split over that many local
  processes, as it would be over `workers` tasks."""
  if not stages.owns_data(sweep):
    if stage in ("experts", "collect"):
      log(f"stage {stage}: nothing to do (the runs read "
          f"{stages.data_dir(sweep, workdir) if sweep.domain != 'atari' else 'the Atari data source'})")
    return
  for name, stage_fn in (MINATAR_STAGES if sweep.domain == "minatar" else DATA_STAGES).items():
    if stage not in ("all", name):
      continue
    if workers == 1 or num_tasks > 1:
      stage_fn(sweep, workdir, task_index, num_tasks, log)
      continue
    log(f"stage {name}: {workers} processes")
    with _process_pool(workers) as pool:
      for f in [pool.submit(_data_task, sweep.to_dict(), str(workdir), name, i, workers)
                for i in range(workers)]:
        f.result()
      if name == "experts" and sweep.domain == "minatar":   # each process wrote its runs' rows
        for game in sweep.envs:
          online_dqn.write_policy_table(stages.data_dir(sweep, workdir), game)
      if name == "collect":   # the processes each wrote the table; the last one may lack rows
        stages.rewrite_table(sweep, workdir)
        if sweep.collect.one_pass:
          stages.size_for_one_pass(sweep, workdir, log, pool.map)


def run_sweep(sweep: ml_collections.ConfigDict, workdir: str | epath.Path, *,
              stage: str = "all", task_index: int = 0, num_tasks: int = 1, workers: int = 1,
              archive: str | epath.Path | None = None,
              log: Callable[[str], None] = print) -> list[dict]:
  """Runs this task's share of `stage`; returns the results of its finished points.

  With `archive` (a directory, `study.archive`), the train stage first restores
  the sweep's archived points into `workdir` and archives each point it finishes.

  Raises:
    OfflineScalingError: for a bad stage/partition or a run setting its run
      module refuses (`grid.check_runs`, before any stage), data not ready, or
      (after every other point ran) the points that failed, each with its message.
  """
  if stage not in STAGES:
    raise OfflineScalingError(f"--stage={stage} must be one of {STAGES}")
  if workers < 1:
    raise OfflineScalingError(f"--workers={workers} must be >= 1")
  grid.partition([], task_index, num_tasks)   # a bad partition fails before any stage runs
  grid.check_runs(sweep, str(stages.data_dir(sweep, workdir)))   # so does a bad setting
  if stage == "all" and num_tasks > 1 and stages.owns_data(sweep):
    order = ("--stage=experts, then --stage=train" if sweep.domain == "minatar" else
             "--stage=experts, then --stage=collect, then --stage=train")
    raise OfflineScalingError(
        f"with --num_tasks > 1 the stages need a barrier between them: run {order} "
        "(each over all tasks)")
  workdir = epath.Path(workdir)
  _data_stages(sweep, workdir, stage, task_index, num_tasks, workers, log)
  if stage not in ("all", "train"):
    return []
  data_dir = (str(stages.check_data(sweep, workdir)) if sweep.domain == "pybullet"
              else str(stages.data_dir(sweep, workdir)) if sweep.domain == "minatar" else "")
  if archive is not None:
    epath.Path(archive).mkdir(parents=True, exist_ok=True)
    share = {grid.point_id(sweep, p): p for p in grid.partition(grid.points(sweep), task_index,
                                                                num_tasks)}
    restored, refused = archives.restore(archive, runs_dir(workdir), share,
                                         same_data(sweep, share, data_dir))
    log(f"archive {archive}: {len(restored)} point(s) restored" + (
        f"; {len(refused)} archived point(s) ran on other data (e.g. a zoo trained on another "
        "machine) and run again" if refused else ""))
  planned = plan(sweep, workdir, task_index, num_tasks)
  # Largest models first: the longest jobs start first (shorter makespan over
  # workers), and the points a reader checks first (performance at scale) land first.
  todo = sorted((p for p in planned if not p.done), key=lambda p: -p.point.size)
  log(f"sweep {sweep.name}: {len(planned)} points in this task, {len(planned) - len(todo)} "
      f"done, {len(todo)} to run on {workers} worker(s)")
  jobs = {}
  for p in todo:
    config = grid.run_config(sweep, p.point, data_dir)
    write_json_atomic(runs_dir(workdir) / p.run_id / POINT_NAME,
                      dict(sweep=sweep.name, run_id=p.run_id, **dataclasses.asdict(p.point)))
    jobs[p.run_id] = (p, (sweep.domain, config.to_dict(), str(workdir), p.run_id))

  failures, t0 = [], time.perf_counter()
  show_p = len(sweep.num_policies) > 1

  def report(k: int, p: Planned, result: dict | None, error: Exception | None) -> None:
    head = f"[{k}/{len(todo)}] {p.point.label(show_p)}"
    if error is not None:
      failures.append(f"{p.point.label(show_p)} ({p.run_id}): {error}")
      log(f"{head}: FAILED: {error}")
    elif result is None:
      log(f"{head}: running in another process, skipped")
    else:
      if archive is not None:
        archives.save(runs_dir(workdir) / p.run_id, archive)
      clipped = result.get("value_unit") == "clipped"
      unit = f", clipped; game score {result['eval_raw_return']:.1f}" if clipped else ""
      log(f"{head}: return {result['eval_return']:.1f} (best expert "
          f"{result['best_expert_value']:.1f}{unit}) at {time.perf_counter() - t0:.0f}s")

  if workers == 1:
    for k, (p, args) in enumerate(jobs.values(), 1):
      try:
        report(k, p, run_point(*args), None)
      except OfflineScalingError as e:
        report(k, p, None, e)
  else:
    with _process_pool(workers) as pool:
      futures = {pool.submit(run_point, *args): p for p, args in jobs.values()}
      for k, f in enumerate(concurrent.futures.as_completed(futures), 1):
        error = f.exception()
        report(k, futures[f], None if error else f.result(), error)
  if failures:
    raise OfflineScalingError(f"{len(failures)} point(s) failed: " + "; ".join(failures))
  return [r for p in planned if (r := runs.read_result(runs_dir(workdir) / p.run_id))]
