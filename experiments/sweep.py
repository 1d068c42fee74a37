r"""Runs a named sweep: data stages, then every point not yet done.

    python -m experiments.sweep --sweep=quickstart --workdir=runs/quickstart
    python -m experiments.sweep --sweep=pybullet_paper --workdir=/data/sweep --dry_run
    # a cluster job array (SLURM_ARRAY_TASK_ID in 0..63), stage by stage:
    python -m experiments.sweep --sweep=pybullet_paper --workdir=/shared/sweep \
        --stage=train --task_index=$SLURM_ARRAY_TASK_ID --num_tasks=64

Sweeps: pybullet_paper, pybullet_repro, atari_paper, quickstart, smoke, atari_small
(offline_scaling/study/grid.py). Everything lands under --workdir: zoo/,
episodes/, runs/<point id>/ (one result.json per point). Killed and
restarted with the same command, a sweep finishes the rest; no point runs
twice. `--set=FIELD=VALUE` (repeatable) overrides any sweep field, e.g.
`--set=run.train.steps=1000 --set="sizes=(1000, 4000)"`; VALUE is a Python
literal (a bare word is a string); the diversity axis, P experts per dataset
at one expertise level, is `--set="num_policies=(5, 20, 50, 100)"
--set="expertise=(1.0,)"`. `--report` writes the report when the points are
done; `--publish=DIR` also copies it to DIR:

    python -m experiments.sweep --sweep=pybullet_repro --workdir=runs/repro \
        --workers=2 --publish=docs/results/reproduction
"""

from __future__ import annotations

from absl import flags

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid, report, sweep

flags.DEFINE_string("sweep", "smoke", f"one of {', '.join(grid.SWEEPS)}")
flags.DEFINE_string("workdir", None, "where the sweep's zoo, episodes and runs go")
flags.DEFINE_enum("stage", "all", sweep.STAGES, "which stage(s) to run")
flags.DEFINE_integer("task_index", 0, "this task's index in [0, num_tasks)")
flags.DEFINE_integer("num_tasks", 1, "tasks the grid is partitioned over")
flags.DEFINE_integer("workers", 1, "points run in parallel processes on this machine")
flags.DEFINE_bool("dry_run", False, "print the plan and its cost, run nothing")
flags.DEFINE_multi_string("set", [], "FIELD=VALUE override of a sweep field (repeatable)")
flags.DEFINE_bool("report", False, "write <workdir>/report/ when the sweep's points are done")
flags.DEFINE_string("publish", None, "write the report and copy its markdown, PNGs and "
                    "results.csv here (e.g. docs/results/reproduction)")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  config = common.load_sweep(F.sweep, F.set)
  if F.dry_run:
    planned = sweep.plan(config, F.workdir, F.task_index, F.num_tasks)
    show_p = len(config.num_policies) > 1
    for p in planned:
      print(f"{p.run_id}  {'done' if p.done else 'todo'}  {p.point.label(show_p)}")
    cost = sweep.estimate(config, planned)
    print(f"{cost['points']} points, {cost['to_run']} to run: {cost['sample_updates']:.3g} "
          f"sample-updates, ~{cost['flops']:.3g} FLOPs (~{cost['cpu_hours']:.3g} h at "
          f"{sweep.CPU_FLOPS_PER_S:.0e} FLOP/s)")
    return
  done = sweep.run_sweep(config, F.workdir, stage=F.stage, task_index=F.task_index,
                         num_tasks=F.num_tasks, workers=F.workers)
  if not (F.report or F.publish) or F.stage not in ("all", "train"):
    print(f"done: {F.workdir}/runs; report: python -m experiments.report --workdir={F.workdir}")
    return
  out = report.write_sweep_report(config, F.workdir, done)
  print(f"\n{report.headline_sentence(out.headline)}\nreport: {out.path}")
  if F.publish:
    print(f"published: {report.publish(out.path.parent, F.publish)}")


if __name__ == "__main__":
  common.run(main)
