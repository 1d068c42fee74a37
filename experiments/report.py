r"""Writes a sweep's report: figures, performance at scale vs best expert, BNSL errors.

    python -m experiments.report --workdir=runs/quickstart

Reads <workdir>/runs/*/result.json; writes <workdir>/report/report.md with
the figures (PNG + PDF) and BNSL fits (report/bnsl/) next to it.
"""

from __future__ import annotations

from absl import flags

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import report

flags.DEFINE_string("workdir", None, "the sweep's workdir")
flags.DEFINE_integer("holdout", 1, "largest model sizes held out of each BNSL fit")
flags.DEFINE_integer("n_bootstrap", 100, "bootstrap refits for the BNSL bands (0: none)")
F = flags.FLAGS


def main(_):
  if not F.workdir:
    raise OfflineScalingError("--workdir is required")
  out = report.write_report(F.workdir, holdout=F.holdout, n_bootstrap=F.n_bootstrap)
  print(out.headline.to_string(index=False))
  print(f"report: {out.path}")


if __name__ == "__main__":
  common.run(main)
