r"""Writes a sweep's report: figures, performance at scale vs best expert, BNSL errors.

    python -m experiments.report --workdir=runs/quickstart

Reads <workdir>/runs/*/result.json (with --sweep=NAME only that sweep's
points); writes <workdir>/report/report.md and results.csv with the figures
(PNG + PDF) and BNSL fits (report/bnsl/) next to it; --publish=DIR copies the
markdown, PNGs and CSV to DIR. --archive=DIR first restores the points
archived there (`experiments.sweep --archive`) into <workdir>/runs/, so a
report can be rebuilt from a fresh clone:

    python -m experiments.report --workdir=/tmp/repro --sweep=pybullet_repro \
        --archive=docs/results/reproduction/points
"""

from __future__ import annotations

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import archive, grid, report

flags.DEFINE_string("workdir", None, "the sweep's workdir")
flags.DEFINE_string("sweep", None, "only this named sweep's points (default: every finished run)")
flags.DEFINE_multi_string("set", [], "the sweep's FIELD=VALUE overrides, as given to "
                          "experiments.sweep (with --sweep)")
flags.DEFINE_string("archive", None, "first restore the points archived here (with --sweep, "
                    "that sweep's) into <workdir>/runs/")
flags.DEFINE_integer("holdout", 1, "largest model sizes held out of each BNSL fit")
flags.DEFINE_integer("n_bootstrap", 100, "bootstrap refits for the BNSL bands (0: none)")
flags.DEFINE_string("publish", None, "also copy report.md, the PNGs and results.csv here "
                    "(e.g. docs/results/reproduction)")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  run_ids = None
  if F.sweep:
    config = common.load_sweep(F.sweep, F.set)
    run_ids = {grid.point_id(config, p) for p in grid.points(config)}
  if F.archive:
    restored, _ = archive.restore(F.archive, epath.Path(F.workdir) / "runs", run_ids)
    print(f"archive {F.archive}: {len(restored)} point(s) restored")
  out = report.write_report(F.workdir, holdout=F.holdout, n_bootstrap=F.n_bootstrap,
                            run_ids=run_ids)
  print(out.headline.to_string(index=False))
  print(f"report: {out.path}")
  if F.publish:
    print(f"published: {report.publish(out.path.parent, F.publish)}")


if __name__ == "__main__":
  common.run(main)
