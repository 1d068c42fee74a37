"""Size or quality? The paper's Section 4.3 question, asked of a results table.

For each (env, algo) — and `num_policies` when the table varies it — and each
expertise level, a BNSL of return vs parameter count (RCI read at conditioner
1) predicts the return of models `factors` (10×, 100×) the largest measured
one, with its bootstrap band, and the verdict compares that band with the
return measured one expertise level up, at that level's largest size:

* the next level's return above the band at every factor: "one expertise step
  is worth more than 100× the parameters";
* below it at every factor: "10× the parameters is worth more than one
  expertise step";
* inside it: "undecided: the band straddles it"; mixed outcomes are told
  factor by factor. When the level above measured a lower return than this
  one (at the largest sizes), the row says so too. The highest level has no
  level above: its row says so and gives no verdict.

A level is refused, with the reason in its row, when its fit is too weak to
extrapolate:

* **too few sizes** (`TOO_FEW_SIZES`): the check below fits every size but the
  largest, and that fit must have more sizes than its law's parameters
  (`BNSLFit.can_extrapolate`): at least `MIN_SIZES` sizes;
* **held-out miss**: the fit without the largest size predicts it; if
  |symlog(predicted) − symlog(measured mean)| exceeds `max_holdout_error`
  (default `MAX_HOLDOUT_ERROR`; for returns well above 1 that is |ln
  predicted/measured|, so 0.25 is a miss by more than ×1.28 either way), the
  level is refused.

The check only vets the procedure. The extrapolation itself uses the fit on
every measured size, the held-out one included: the predictions start from the
largest measured model, so 10× and 100× mean that much beyond the data, not
beyond a size the fit never saw; and the largest size is the measurement
closest to them.

The bootstrap resamples seeds within each size (`scaling.fit_bnsl`). A results
table keeps each run's mean and standard deviation over seeds, not the seeds:
each run enters the fit as `num_seeds` values with exactly that mean and
(population) standard deviation, evenly spread (`seed_values`). For two seeds
these are the seeds themselves; for more, resampling them gives the mean the
same variance as resampling the real seeds would.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from etils import epath
import numpy as np
import pandas as pd

from offline_scaling import scaling
from offline_scaling.errors import OfflineScalingError
from offline_scaling.scaling import model
from offline_scaling.scaling.fit import TOO_FEW_SIZES
from offline_scaling.scaling.transform import symlog
from offline_scaling.study import results

# RCI is read at this conditioner (the return the data's best trajectory had).
CONDITIONER = 1.0
# The default threshold on the held-out miss, in symlog units (see the module doc).
MAX_HOLDOUT_ERROR = 0.25
# Fewest sizes a level needs: the fit without the largest must have more sizes
# than a 0-break law's parameters.
MIN_SIZES = model.n_params(0) + 2
# The columns of a results table (`results.summary_table`, results.csv) read here.
COLUMNS = ("env", "algo", "expertise", "param_count", "conditioner", "return_mean",
           "return_std", "num_seeds")


def load_table(results_dir: str | epath.Path) -> pd.DataFrame:
  """The results table of a sweep workdir (its `runs/`) or of a directory
  holding `results.csv` (a published report), one row per (run, conditioner).

  Raises:
    OfflineScalingError: naming the path when it holds neither, when the CSV
      lacks a column of `COLUMNS`, or when there is no row.
  """
  path = epath.Path(results_dir)
  if (path / "runs").is_dir():
    table = results.summary_table(path)
  elif (path / "results.csv").exists():
    with (path / "results.csv").open() as f:
      table = pd.read_csv(f)
    missing = [c for c in COLUMNS if c not in table]
    if missing:
      raise OfflineScalingError(
          f"{path / 'results.csv'} lacks the columns {', '.join(missing)}: it must be a "
          "study's results table (written by experiments.report)")
  else:
    raise OfflineScalingError(
        f"{path} holds neither a sweep's runs/ directory nor a results.csv: pass a sweep "
        "workdir or a published report's directory")
  if not len(table):
    raise OfflineScalingError(f"{path} holds no finished run")
  return table


def seed_values(mean: float, std: float, n: int) -> np.ndarray:
  """(n,) values with exactly this mean and population std, evenly spread.

  >>> seed_values(10.0, 2.0, 2).tolist()
  [8.0, 12.0]
  """
  z = np.linspace(-1.0, 1.0, n)
  if n > 1:
    z /= z.std()
  return mean + (0.0 if np.isnan(std) else std) * z


@dataclasses.dataclass(frozen=True)
class Prediction:
  """The fit's return for a model `factor` times the largest measured one.

  Attributes:
    factor: the multiple of the largest measured parameter count.
    param_count: that model's parameter count.
    value: predicted return (return units).
    low: the bootstrap band's lower edge (at `Advice.band_level`).
    high: its upper edge.
  """
  factor: float
  param_count: float
  value: float
  low: float
  high: float


@dataclasses.dataclass(frozen=True)
class Row:
  """One expertise level of one (env, algo[, num_policies]) group.

  Attributes:
    group: {env, algo[, num_policies]}.
    expertise: the level.
    sizes: number of distinct parameter counts measured at it.
    largest: the largest measured parameter count.
    measured: mean return there (over seeds).
    measured_std: its std over seeds.
    holdout_error: |symlog(predicted) − symlog(measured)| at `largest` of the
      fit without it; None when too few sizes to check.
    predictions: one per factor, from the fit on every size; empty if refused.
    next_expertise: the level above; None at the highest.
    next_largest: the largest parameter count measured at the level above.
    next_measured: mean return there (over seeds): what the verdict compares.
    next_std: its std over seeds.
    refused: why the fit is too weak to extrapolate; None when it is not.
    verdict: the one-line answer (or why there is none).
  """
  group: dict[str, Any]
  expertise: float
  sizes: int
  largest: float
  measured: float
  measured_std: float
  holdout_error: float | None
  predictions: tuple[Prediction, ...]
  next_expertise: float | None
  next_largest: float | None
  next_measured: float | None
  next_std: float | None
  refused: str | None
  verdict: str


@dataclasses.dataclass(frozen=True)
class Advice:
  """The rows and the settings that made them.

  Attributes:
    rows: one per (group, expertise level), sorted.
    factors: the multiples of the largest size predicted at.
    max_holdout_error: the refusal threshold on the held-out miss (symlog units).
    band_level: coverage of the bootstrap bands.
    n_bootstrap: refits behind each band.
  """
  rows: tuple[Row, ...]
  factors: tuple[float, ...]
  max_holdout_error: float
  band_level: float
  n_bootstrap: int

  def to_dict(self) -> dict[str, Any]:
    """A JSON-ready dict: the settings, the extrapolation rule and every row."""
    return {"conditioner": CONDITIONER, "factors": list(self.factors),
            "max_holdout_error": self.max_holdout_error, "band_level": self.band_level,
            "n_bootstrap": self.n_bootstrap, "min_sizes": MIN_SIZES,
            "extrapolation": "fit on every measured size (the held-out fit only checks)",
            "rows": [dataclasses.asdict(r) for r in self.rows]}

  def markdown(self) -> str:
    """The answer as markdown: what was done, the threshold, and the table."""
    f = [f"{v:g}×" for v in self.factors]
    head = ["env", "algo", *[k for k in self.rows[0].group if k not in ("env", "algo")],
            "expertise", "sizes", "largest", "return there", "held-out error",
            *f, "one level up", "verdict"]
    lines = [
        "# Size or quality?", "",
        f"Per (env, algo) and expertise level (RCI at conditioner {CONDITIONER:g}), a BNSL of "
        f"return vs parameters fitted to every measured size predicts the return of models "
        f"{' and '.join(f)} the largest measured one, with its {self.band_level:.0%} bootstrap "
        f"band ({self.n_bootstrap} refits over seeds); the verdict sets the band against the "
        "return measured one expertise level up, at that level's largest size.", "",
        f"A level is refused when it has fewer than {MIN_SIZES} sizes, or when the fit without "
        "its largest size misses that size's measured mean by more than "
        f"{self.max_holdout_error:g} in symlog units (|ln predicted/measured| for returns well "
        f"above 1: a miss by more than ×{np.exp(self.max_holdout_error):.2f}).", "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if h not in ("env", "algo", "verdict") else "---"
                       for h in head) + "|"]
    for r in self.rows:
      preds = ([f"{p.value:.1f} [{p.low:.1f}, {p.high:.1f}]" for p in r.predictions]
               or ["–"] * len(self.factors))
      up = "–"
      if r.next_expertise is not None:
        at = "" if r.next_largest == r.largest else f" (at {r.next_largest:,.0f})"
        up = f"{r.next_expertise:g}: {r.next_measured:.1f} ± {r.next_std:.1f}{at}"
      cells = [*(f"{v:g}" if isinstance(v, float) else str(v) for v in r.group.values()),
               f"{r.expertise:g}", str(r.sizes),
               f"{r.largest:,.0f}", f"{r.measured:.1f} ± {r.measured_std:.1f}",
               "–" if r.holdout_error is None else f"{r.holdout_error:.3f}", *preds, up,
               r.verdict]
      lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _verdict(predictions: Sequence[Prediction], next_return: float) -> str:
  """One line: the next level's return against each factor's band."""
  outcome = {p.factor: ("step" if next_return > p.high else
                        "size" if next_return < p.low else "undecided") for p in predictions}
  factors = sorted(outcome)
  if all(o == "step" for o in outcome.values()):
    return f"one expertise step is worth more than {factors[-1]:g}× the parameters"
  if all(o == "size" for o in outcome.values()):
    return f"{factors[0]:g}× the parameters is worth more than one expertise step"
  if all(o == "undecided" for o in outcome.values()):
    return "undecided: the band straddles it at " + " and ".join(f"{v:g}×" for v in factors)
  told = {"step": "one expertise step is worth more than {:g}× the parameters",
          "size": "{:g}× the parameters is worth more than one expertise step",
          "undecided": "undecided at {:g}× (the band straddles it)"}
  return "; ".join(told[outcome[v]].format(v) for v in factors)


def _points(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
  """(x, y), one point per seed (`seed_values`) of every run in `rows`."""
  x = np.repeat(rows["param_count"].to_numpy(float), rows["num_seeds"].to_numpy(int))
  y = np.concatenate([seed_values(r.return_mean, r.return_std, int(r.num_seeds))
                      for r in rows.itertuples()])
  return x, y


def _at_largest(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
  """The largest x, and the mean and std of y there."""
  top = y[x == x.max()]
  return float(x.max()), float(top.mean()), float(top.std())


def _level(x: np.ndarray, y: np.ndarray, factors: Sequence[float], max_holdout_error: float,
           n_bootstrap: int, band_level: float,
           seed: int) -> tuple[float | None, tuple[Prediction, ...], str | None]:
  """(held-out error, predictions, refusal reason) of one level's points."""
  sizes = np.unique(x).size
  check = (scaling.fit_bnsl(x, y, holdout=1, n_bootstrap=0, seed=seed)
           if sizes >= MIN_SIZES - 1 else None)
  if check is None or not check.can_extrapolate:
    return None, (), (f"{TOO_FEW_SIZES}: {sizes} sizes, fewer than {MIN_SIZES} (the fit "
                      "without the largest needs more sizes than its law's parameters)")
  largest = check.x_holdout.max()
  predicted = float(check.predict([largest])[0])
  observed = float(check.y_holdout.mean())
  error = float(abs(symlog(predicted) - symlog(observed)))
  if error > max_holdout_error:
    return error, (), (f"held-out error {error:.3f} > {max_holdout_error:g}: the fit without "
                       f"{largest:,.0f} parameters predicted {predicted:.1f} there, measured "
                       f"{observed:.1f}")
  fit = scaling.fit_bnsl(x, y, n_bootstrap=n_bootstrap, seed=seed)
  at = np.asarray(factors, dtype=float) * x.max()
  low, high = fit.band(at, band_level)
  return error, tuple(Prediction(float(f), float(a), float(v), float(lo), float(hi))
                      for f, a, v, lo, hi in zip(factors, at, fit.predict(at), low, high)), None


def advise(table: pd.DataFrame, *, factors: Sequence[float] = (10.0, 100.0),
           max_holdout_error: float = MAX_HOLDOUT_ERROR, n_bootstrap: int = 100,
           band_level: float = 0.9, seed: int = 0) -> Advice:
  """Size or quality, per (env, algo[, num_policies]) and expertise level.

  RCI rows at other conditioners than `CONDITIONER` are not read, so an RCI
  level whose runs were never evaluated at it has no row.

  Args:
    table: a results table with the columns `COLUMNS` (`load_table`), and
      `num_policies` if the sweep varied it (then one group per value).
    factors: multiples (> 1) of the largest measured parameter count to predict at.
    max_holdout_error: the largest held-out miss (symlog units) a level may have
      and still be extrapolated (see the module doc).
    n_bootstrap: refits for the band (>= 1: the verdict reads the band).
    band_level: coverage of the band, in (0, 1).
    seed: seed of the fits' bootstrap.

  Returns:
    The rows, sorted by group then expertise.

  Raises:
    OfflineScalingError: for a setting out of range, or a table with no RCI run
      evaluated at conditioner 1 and no other algorithm.
  """
  if not factors or not all(f > 1 for f in factors):
    raise OfflineScalingError(f"factors must be > 1; got {list(factors)}")
  if not max_holdout_error > 0:
    raise OfflineScalingError(f"max_holdout_error must be > 0; got {max_holdout_error}")
  if not 0 < band_level < 1:
    raise OfflineScalingError(f"band_level must be in (0, 1); got {band_level}")
  if n_bootstrap < 1:
    raise OfflineScalingError(f"n_bootstrap must be >= 1 (the verdict reads the band); "
                              f"got {n_bootstrap}")
  keys = ["env", "algo"]
  if "num_policies" in table and table["num_policies"].nunique(dropna=False) > 1:
    keys.append("num_policies")
  usable = table[(table["algo"] != "rci") | np.isclose(table["conditioner"], CONDITIONER)]
  if not len(usable):
    raise OfflineScalingError(
        f"no run to advise on: the table's RCI runs have no evaluation at conditioner "
        f"{CONDITIONER:g} and it holds no other algorithm")
  rows = []
  for key, g in usable.groupby(keys, sort=True, dropna=False):
    group = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(keys, key)}
    levels = [(float(e), _points(lg)) for e, lg in g.groupby("expertise", sort=True)]
    for i, (e, (x, y)) in enumerate(levels):
      largest, measured, std = _at_largest(x, y)
      error, preds, refused = _level(x, y, factors, max_holdout_error, n_bootstrap,
                                     band_level, seed)
      nxt = levels[i + 1] if i + 1 < len(levels) else None
      up = _at_largest(*nxt[1]) if nxt else (None, None, None)
      parts = [f"refused: {refused}"] if refused else []
      if nxt is None:
        parts.append(f"no verdict: {e:g} is the highest expertise level, none lies above it")
      else:
        if not refused:
          parts.append(_verdict(preds, up[1]))
        if up[1] < measured:
          parts.append("the level above measured lower than this one")
      rows.append(Row(group=group, expertise=e, sizes=int(np.unique(x).size),
                      largest=largest, measured=measured, measured_std=std,
                      holdout_error=error, predictions=preds,
                      next_expertise=nxt[0] if nxt else None, next_largest=up[0],
                      next_measured=up[1], next_std=up[2], refused=refused,
                      verdict="; ".join(parts)))
  return Advice(tuple(rows), tuple(float(f) for f in factors), float(max_holdout_error),
                float(band_level), int(n_bootstrap))
