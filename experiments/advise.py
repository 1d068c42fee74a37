r"""Size or quality? Whether a bigger model or better data pays more, from your results.

    python -m experiments.advise --results=runs/repro
    python -m experiments.advise --results=docs/results/reproduction

--results is a sweep workdir (its runs/) or a directory holding a report's
results.csv. Per (env, algo) and expertise level (RCI at conditioner 1), a BNSL
of return vs parameters predicts the return of models 10× and 100× the largest
measured one, with its bootstrap band, and sets it against the return measured
one expertise level up; a level whose fit without its largest size misses that
size by more than --max_holdout_error (symlog units), or that has too few
sizes, is refused. Prints the table and writes advice.md and advice.json to
--out (default: the --results directory). The method: offline_scaling.study.advise.
"""

from __future__ import annotations

import json

from absl import flags
from etils import epath

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import advise

flags.DEFINE_string("results", None, "a sweep workdir or a directory holding results.csv")
flags.DEFINE_string("out", None, "where advice.md and advice.json go (default: --results)")
flags.DEFINE_float("max_holdout_error", advise.MAX_HOLDOUT_ERROR,
                   "refuse a level whose fit without its largest size misses it by more than "
                   "this, in symlog units (|ln predicted/measured| for returns well above 1)")
flags.DEFINE_integer("n_bootstrap", 100, "bootstrap refits for the bands (>= 1)")
flags.DEFINE_float("band_level", 0.9, "coverage of the bootstrap band")
flags.DEFINE_integer("seed", 0, "seed of the bootstrap")
F = flags.FLAGS


def main(_):
  if not F.results:
    raise OfflineScalingError("--results is required")
  advice = advise.advise(advise.load_table(F.results), max_holdout_error=F.max_holdout_error,
                         n_bootstrap=F.n_bootstrap, band_level=F.band_level, seed=F.seed)
  out = epath.Path(F.out or F.results)
  out.mkdir(parents=True, exist_ok=True)
  text = advice.markdown()
  (out / "advice.md").write_text(text)
  (out / "advice.json").write_text(
      json.dumps(dict(results=F.results, **advice.to_dict()), indent=1))
  print(text)
  print(f"advice: {out / 'advice.md'}, {out / 'advice.json'}")


if __name__ == "__main__":
  common.run(main)
