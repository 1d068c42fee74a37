r"""Runs a named sweep: data stages, then every point not yet done.

    python -m experiments.sweep --sweep=quickstart --workdir=runs/quickstart
    python -m experiments.sweep --sweep=pybullet_paper --workdir=/data/sweep --dry_run
    # a cluster job array (SLURM_ARRAY_TASK_ID in 0..63), stage by stage:
    python -m experiments.sweep --sweep=pybullet_paper --workdir=/shared/sweep \
        --stage=train --task_index=$SLURM_ARRAY_TASK_ID --num_tasks=64

Sweeps: pybullet_paper, pybullet_repro, atari_paper, quickstart, smoke, atari_small,
minatar_repro, minatar_smoke
(offline_scaling/study/grid.py). Everything lands under --workdir: zoo/ (MinAtar: replay/),
episodes/, runs/<point id>/ (one result.json per point). Killed and
restarted with the same command, a sweep finishes the rest; no point runs
twice. Every point's run config is built and validated before any stage
starts (also under --dry_run): a bad setting stops the sweep with one line
naming the `--set`. --dry_run prints each point, the collection left to play
(env steps and hours) and the training left (sample-updates, FLOPs). `--set=FIELD=VALUE` (repeatable) overrides any sweep field, e.g.
`--set=run.train.steps=1000 --set="sizes=(1000, 4000)"`; VALUE is a Python
literal (a bare word is a string); the diversity axis, P experts per dataset
at one expertise level, is `--set="num_policies=(5, 20, 50, 100)"
--set="expertise=(1.0,)"`. `--report` writes the report when the points are
done; `--publish=DIR` also copies it to DIR. `--archive=DIR` copies each
finished point's records (a few KB, no checkpoints) to DIR/<point id>/ and
counts the points archived there done, so a study whose workdir is lost
resumes from its committed archive (it re-makes the data, not the points):

    python -m experiments.sweep --sweep=pybullet_repro --workdir=runs/repro \
        --workers=2 --archive=docs/results/reproduction/points \
        --publish=docs/results/reproduction
"""

from __future__ import annotations

from absl import flags

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid, report, sizing, stages, sweep

flags.DEFINE_string("sweep", "smoke", f"one of {', '.join(grid.SWEEPS)}")
flags.DEFINE_string("workdir", None, "where the sweep's zoo, episodes and runs go")
flags.DEFINE_enum("stage", "all", sweep.STAGES, "which stage(s) to run")
flags.DEFINE_integer("task_index", 0, "this task's index in [0, num_tasks)")
flags.DEFINE_integer("num_tasks", 1, "tasks the grid is partitioned over")
flags.DEFINE_integer("workers", 1, "points run in parallel processes on this machine")
flags.DEFINE_bool("dry_run", False, "print the plan and its cost, run nothing")
flags.DEFINE_multi_string("set", [], "FIELD=VALUE override of a sweep field (repeatable)")
flags.DEFINE_string("archive", None, "copy each finished point's records (result.json, logs; "
                    "no checkpoints) here, and count the points archived here done (e.g. "
                    "docs/results/reproduction/points: a study that outlives its workdir)")
flags.DEFINE_bool("report", False, "write <workdir>/report/ when the sweep's points are done")
flags.DEFINE_string("publish", None, "write the report and copy its markdown, PNGs and "
                    "results.csv here (e.g. docs/results/reproduction)")
F = flags.FLAGS


def checked_sweep(name: str, sets: list[str], workdir: str):
  """The sweep with its `--set`s, once every point's run config validates
  (`grid.check_runs`); else one line naming the `--set` that broke it (the
  first whose addition gives the message), e.g. "--set expertise=(1.5,):
  --expertise=1.5 must lie in (0, 1]"."""
  config = common.load_sweep(name, sets)
  data_dir = str(stages.data_dir(config, workdir))
  try:
    grid.check_runs(config, data_dir)
  except OfflineScalingError as e:
    culprit = f"--sweep={name}"
    for k in range(1, len(sets) + 1):
      try:
        grid.check_runs(common.load_sweep(name, sets[:k]), data_dir)
      except OfflineScalingError as partial:
        if str(partial) == str(e):
          culprit = f"--set {sets[k - 1]}"
          break
    else:
      culprit = " ".join(f"--set {item}" for item in sets) or culprit
    raise OfflineScalingError(f"{culprit}: {e}") from None
  return config


def collection_line(config, workdir: str) -> str | None:
  """The collect stage's cost for --dry_run: env steps and hours (None: no collection)."""
  c = sweep.collection_estimate(config, workdir)
  if c is None:
    return None
  value = (f"value {c['to_value']} of the {c['policies']} zoo policies × "
           f"{config.collect.episodes} episodes: <= {c['value_steps']:,} env steps (upper "
           f"bound: every episode {sizing.MAX_EPISODE_STEPS:,} steps)" if c["to_value"]
           else f"all {c['policies']} zoo policies valued")
  if not config.collect.one_pass:
    top_up = "no top-up (collect.one_pass is off)"
  elif not c["top_up_exact"]:
    top_up = (f"top up for one pass: <= {c['top_up_steps']:,} env steps (upper bound: the "
              "policies' values, and so the selections, are unknown until they are valued)")
  elif c["top_up_policies"]:
    top_up = (f"top up for one pass: about {c['top_up_steps']:,} env steps to "
              f"{c['top_up_policies']} policies (the first round, from the table)")
  else:
    top_up = "sized for one pass"
  hours = c["hours"]
  wall = f"{hours:.3g} h" if hours >= 1 else f"{hours * 60:.2g} min"
  return (f"collection: {value}; {top_up}; ~{wall} at {sweep.COLLECT_STEPS_PER_S:,} env "
          "steps/s in one process")


def replay_line(config, workdir: str) -> str | None:
  """The MinAtar replay stage's cost for --dry_run (None: no replay to log)."""
  r = sweep.replay_estimate(config, workdir)
  if r is None:
    return None
  hours = r["hours"]
  wall = f"{hours:.3g} h" if hours >= 1 else f"{hours * 60:.2g} min"
  return (f"replay: {r['runs']} DQN runs ({len(config.envs)} games × {config.replay.runs}) × "
          f"{config.replay.frames:,} frames: {r['frames'] - r['done']:,} of {r['frames']:,} "
          f"frames left; ~{wall} at {sweep.REPLAY_FRAMES_PER_S:,} frames/s, one run at a time")


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  config = checked_sweep(F.sweep, F.set, F.workdir)
  if F.dry_run:
    planned = sweep.plan(config, F.workdir, F.task_index, F.num_tasks, F.archive)
    show_p = len(config.num_policies) > 1
    for p in planned:
      print(f"{p.run_id}  {'done' if p.done else 'todo'}  {p.point.label(show_p)}")
    for line in (collection_line(config, F.workdir), replay_line(config, F.workdir)):
      if line:
        print(line)
    cost = sweep.estimate(config, planned)
    print(f"{cost['points']} points, {cost['to_run']} to run: {cost['sample_updates']:.3g} "
          f"sample-updates, ~{cost['flops']:.3g} FLOPs (~{cost['cpu_hours']:.3g} h at "
          f"{sweep.CPU_FLOPS_PER_S:.0e} FLOP/s)")
    return
  done = sweep.run_sweep(config, F.workdir, stage=F.stage, task_index=F.task_index,
                         num_tasks=F.num_tasks, workers=F.workers, archive=F.archive)
  if not (F.report or F.publish) or F.stage not in ("all", "train"):
    print(f"done: {F.workdir}/runs; report: python -m experiments.report --workdir={F.workdir}")
    return
  out = report.write_sweep_report(config, F.workdir, done)
  print(f"\n{report.headline_sentence(out.headline)}\nreport: {out.path}")
  if F.publish:
    print(f"published: {report.publish(out.path.parent, F.publish)}")


if __name__ == "__main__":
  common.run(main)
