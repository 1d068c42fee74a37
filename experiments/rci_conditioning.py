r"""RCI's conditioning response: a sweep's finished RCI runs played again on a
finer grid of conditioners, without training.

    python -m experiments.rci_conditioning --sweep=pybullet_repro --workdir=runs/repro \
        --conditioners=0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1 \
        --compare=run.agent.return_code_periods=6

Each PyBullet RCI run of the sweep is played at every c given and at c*, the c
that asks for the best data-collecting expert's value; `--compare` adds the same
points run with another setting (here the 12-d return code). Results are cached per
run (`conditioning.json`), so a rerun or a longer grid plays only what is new.
Writes <out>/conditioning_response.csv (a row per run and c), the per-run
summary (best c, return at c* and at c = 1) as conditioning_summary.csv, and
the figure conditioning_response.png (return got vs return asked).

`--boundary` also plays c − 2^−8 and c + 2^−8 beside each of the paper's
conditioners (0.5, 0.75, 1, 1.25, 1.5), which sit on the return code's edges,
and writes conditioning_boundary.csv: the returns at c − 2^−8, c and c + 2^−8
side by side with the code bits each step flips (`study.conditioning`).
"""

from __future__ import annotations

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling.plot import format_count
from offline_scaling.study import conditioning, figures, grid

flags.DEFINE_string("sweep", "pybullet_repro", "the named sweep whose RCI runs to play")
flags.DEFINE_multi_string("set", [], "the sweep's FIELD=VALUE overrides, as given to "
                          "experiments.sweep (they select its points, hence its runs)")
flags.DEFINE_multi_string("compare", [], "FIELD=VALUE: also play the sweep's points with "
                          "this override, drawn beside them (e.g. "
                          "run.agent.return_code_periods=6 for the 12-d return code); "
                          "repeatable, each a variant of its own")
flags.DEFINE_string("workdir", None, "the sweep's workdir")
flags.DEFINE_list("conditioners", ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0",
                                   "1.1"], "conditioners c to play (c* is always added)")
flags.DEFINE_boolean("boundary", False, "also play c - 2^-8 and c + 2^-8 beside each of "
                     "the paper's conditioners (0.5, 0.75, 1, 1.25, 1.5) and write their "
                     "returns side by side (conditioning_boundary.csv)")
flags.DEFINE_string("out", None, "where the tables and figure go (default <workdir>/report)")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  try:
    cs = [float(c) for c in F.conditioners]
  except ValueError as e:
    raise OfflineScalingError(f"--conditioners={','.join(F.conditioners)}: {e}") from None
  bad = [c for c in F.compare if "=" not in c]
  if bad:
    raise OfflineScalingError(f"--compare={bad[0]} must read FIELD=VALUE")
  ids = set()
  for variant in [[], *([c] for c in F.compare)]:
    sweep = common.load_sweep(F.sweep, F.set + variant)
    ids |= {grid.point_id(sweep, p) for p in grid.points(sweep)}
  if F.boundary:
    cs += conditioning.boundary_grid()
  conditioning.reevaluate_runs(F.workdir, ids, cs)
  table = conditioning.response_table(F.workdir, ids)
  out = epath.Path(F.out or epath.Path(F.workdir) / "report")
  out.mkdir(parents=True, exist_ok=True)
  table.to_csv(out / "conditioning_response.csv", index=False, float_format="%.6g")
  per_run = conditioning.summary(table)
  per_run.to_csv(out / "conditioning_summary.csv", index=False, float_format="%.6g")
  written = [out / "conditioning_response.csv", out / "conditioning_summary.csv"]
  written.append(figures.save(figures.conditioning_response(table), out,
                              "conditioning_response"))
  shown = [per_run]
  if F.boundary:
    edges = conditioning.boundary_summary(table)
    edges.to_csv(out / "conditioning_boundary.csv", index=False, float_format="%.6g")
    written.append(out / "conditioning_boundary.csv")
    shown.append(edges)
  for frame in shown:
    frame["size"] = frame["size"].map(format_count)
    print(frame.to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
  print(f"written: {', '.join(str(p) for p in written)}")


if __name__ == "__main__":
  common.run(main)
