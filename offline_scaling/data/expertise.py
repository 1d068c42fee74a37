"""Expertise selection: which experts' data make a dataset of expertise level e.

Each policy has a value (the mean return of its collected episodes). For a
level e in (0, 1]:

1. keep the *eligible* policies, by one of two named rules
   * `value`: value ≤ v_min + e·(v_max − v_min) over the whole table;
   * `rank`:  the ⌊e·N⌋ lowest-valued of the N policies (ties broken by id);
2. sub-sample P of them evenly along the value ordering: indices
   round(linspace(0, n − 1, P)) of the n eligible ones sorted by value, so the
   weakest and the best eligible policy are always in (P = 1 takes the best);
   with n ≤ P all n are taken and the summary says so.

The dataset is the concatenation of the selected policies' episodes. For Atari
(`episode_ranges`) a fixed total of episodes is split evenly over the chosen
policies, taken from the middle of each checkpoint's episodes. A one-pass
study (`equal_episodes`) takes the same number k of each chosen policy's
first episodes, the fewest that hold its sample budget
(`episodes_for_budget`): every expert weighs in by its episodes, as in the
paper's datasets of a fixed number of episodes per policy, so an expert whose
episodes are short (a weak Hopper falls within a few steps) contributes fewer
transitions, not more episodes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.errors import OfflineScalingError

RULES = ("value", "rank")
POSITIONS = ("middle", "first", "last")
# `episodes_for_budget` asks for this much more than the budget: k episodes of
# a policy are about k mean lengths long, not exactly.
BUDGET_MARGIN = 1.05


@dataclasses.dataclass(frozen=True)
class Selection:
  """The outcome of `select_policies`; saved with every training run.

  Attributes:
    rule, expertise, num_policies: the request (num_policies = P).
    threshold: the value threshold (`value` rule) or the value of the last
      eligible policy (`rank` rule).
    num_eligible: n, the policies that passed the threshold.
    policy_ids, values: the selected policies, by increasing value.
    best_value: the value of the best selected policy (the best data-collecting expert).
    note: "" or why fewer than P policies were selected.
  """
  rule: str
  expertise: float
  num_policies: int
  threshold: float
  num_eligible: int
  policy_ids: tuple[str, ...]
  values: tuple[float, ...]
  best_value: float
  note: str

  def to_dict(self) -> dict:
    """The selection as a JSON-ready dict (what a run's result records)."""
    return dataclasses.asdict(self)


def _check(expertise, num_policies, rule, n_table):
  if rule not in RULES:
    raise OfflineScalingError(f"selection rule {rule!r} is not one of {RULES}")
  if not (isinstance(expertise, (int, float)) and 0.0 < expertise <= 1.0):
    raise OfflineScalingError(f"expertise={expertise!r} must be a number in (0, 1]")
  if not (isinstance(num_policies, (int, np.integer)) and num_policies >= 1):
    raise OfflineScalingError(f"num_policies={num_policies!r} must be an integer >= 1")
  if n_table == 0:
    raise OfflineScalingError("the policy table is empty: there is nothing to select")


def select_policies(policy_table: Sequence[PolicyRecord], expertise: float,
                    num_policies: int, rule: str = "value") -> Selection:
  """Selects the policies of expertise level `expertise` (see the module docstring).

  Pure and deterministic: the result depends only on the table's (id, value) pairs.

  Args:
    policy_table: every candidate policy; `value` is its mean episode return
      (env reward units).
    expertise: the level e in (0, 1].
    num_policies: P, how many of the eligible policies to take.
    rule: `value` or `rank` (see the module docstring).

  Returns:
    The `Selection`: ids and values by increasing value, threshold, notes.

  Examples:
    >>> values = [10, 20, 30, 40, 100]
    >>> table = [PolicyRecord(f"p{i}", "hopper", 0, i, value=v, std=0.0, num_episodes=10,
    ...                       num_steps=1_000, shard="") for i, v in enumerate(values)]
    >>> select_policies(table, 0.5, 2, "value").policy_ids   # value <= 10 + 0.5·(100 − 10) = 55
    ('p0', 'p3')
    >>> select_policies(table, 0.6, 2, "rank").policy_ids    # the ⌊0.6·5⌋ = 3 lowest
    ('p0', 'p2')
    >>> select_policies(table, 1.0, 9).note
    'only 5 policies are eligible at expertise 1.0 (value rule); took all of them instead of 9'

  Raises:
    OfflineScalingError: for a rule not in RULES, expertise outside (0, 1],
      num_policies < 1, an empty table, a non-finite value, or a level that
      selects no policy (`rank` with ⌊e·N⌋ = 0).
  """
  _check(expertise, num_policies, rule, len(policy_table))
  ordered = sorted(policy_table, key=lambda p: (p.value, p.policy_id))
  values = np.array([p.value for p in ordered], np.float64)
  if not np.all(np.isfinite(values)):
    bad = ordered[int(np.flatnonzero(~np.isfinite(values))[0])]
    raise OfflineScalingError(f"policy '{bad.policy_id}' has non-finite value {bad.value}")
  if rule == "value":
    threshold = values[0] + expertise * (values[-1] - values[0])
    # A relative tolerance so e = 1 keeps the best policy despite round-off.
    n = int(np.sum(values <= threshold + 1e-12 * max(1.0, abs(threshold))))
  else:
    n = math.floor(expertise * len(ordered) + 1e-9)
    if n == 0:
      raise OfflineScalingError(
          f"expertise={expertise} with rule 'rank' keeps ⌊{expertise}·{len(ordered)}⌋ = 0 "
          "of the policies: raise the level or add policies")
    threshold = float(values[n - 1])
  eligible = ordered[:n]
  if n <= num_policies:
    chosen = eligible
    note = "" if n == num_policies else (
        f"only {n} policies are eligible at expertise {expertise} ({rule} rule); "
        f"took all of them instead of {num_policies}")
  else:
    idx = [n - 1] if num_policies == 1 else np.round(
        np.linspace(0, n - 1, num_policies)).astype(int)
    chosen = [eligible[i] for i in idx]
    note = ""
  return Selection(rule=rule, expertise=float(expertise), num_policies=int(num_policies),
                   threshold=float(threshold), num_eligible=n,
                   policy_ids=tuple(p.policy_id for p in chosen),
                   values=tuple(float(p.value) for p in chosen),
                   best_value=float(chosen[-1].value), note=note)


def episode_ranges(policy_table: Sequence[PolicyRecord], policy_ids: Sequence[str],
                   total_episodes: int, position: str = "middle"
                   ) -> dict[str, tuple[int, int]]:
  """Splits `total_episodes` evenly over `policy_ids`: a [start, stop) per policy.

  The first `total_episodes mod P` policies get one more. `position` picks
  which of a policy's episodes: the `middle` ones (the convention of the
  published Atari scaling setup), the `first` or the `last`. A policy with
  fewer episodes than its share gives all it has.
  """
  if position not in POSITIONS:
    raise OfflineScalingError(f"episode position '{position}' is not one of {POSITIONS}")
  if total_episodes < len(policy_ids):
    raise OfflineScalingError(
        f"total_episodes={total_episodes} is fewer than the {len(policy_ids)} selected policies")
  by_id = {p.policy_id: p for p in policy_table}
  share, extra = divmod(total_episodes, len(policy_ids))
  out = {}
  for k, pid in enumerate(policy_ids):
    available = by_id[pid].num_episodes
    want = min(share + (k < extra), available)
    start = {"first": 0, "middle": (available - want) // 2, "last": available - want}[position]
    out[pid] = (start, start + want)
  return out


def mean_length(record: PolicyRecord) -> float:
  """A policy's mean episode length in transitions (0 without episodes)."""
  return record.num_steps / record.num_episodes if record.num_episodes else 0.0


def episodes_for_budget(records: Sequence[PolicyRecord], samples: int,
                        max_steps_per_policy: int = 0) -> int:
  """Episodes k per policy such that the first k of each of `records`' policies
  hold a one-pass sample budget: k = ⌈1.05 · samples / Σ mean lengths⌉
  (`BUDGET_MARGIN`; mean lengths from the policy table), at least 1.

  Args:
    records: the selected policies' rows (each with at least one episode).
    samples: the budget, in transitions (train steps × batch size).
    max_steps_per_policy: > 0 caps k so that no policy is asked for more than
      about that many transitions (k ≤ cap / the longest mean length).

  Example:
    >>> rows = [PolicyRecord("a", "hopper", 0, 1, 1.0, 0.0, 4, 400, ""),
    ...         PolicyRecord("b", "hopper", 0, 2, 2.0, 0.0, 2, 20, "")]
    >>> episodes_for_budget(rows, 10_000)   # 1.05 · 10,000 / (100 + 10) → 96
    96
  """
  lengths = [mean_length(r) for r in records]
  if not records or min(lengths) <= 0:
    raise OfflineScalingError("episodes_for_budget needs policies that hold episodes")
  k = max(1, math.ceil(BUDGET_MARGIN * samples / sum(lengths)))
  if max_steps_per_policy:
    k = min(k, max(1, int(max_steps_per_policy // max(lengths))))
  return k


def equal_episode_ranges(policy_table: Sequence[PolicyRecord], policy_ids: Sequence[str],
                         samples: int) -> tuple[int, dict[str, tuple[int, int]]]:
  """The first k episodes of every policy in `policy_ids`: (k, {id: (0, k)}).

  k is `episodes_for_budget` of the policies, or the fewest episodes any of
  them holds when that is less (a collection not sized for `samples`: the run
  then sees its data more than once, which its `passes` records).
  """
  by_id = {p.policy_id: p for p in policy_table}
  records = [by_id[pid] for pid in policy_ids]
  k = min(episodes_for_budget(records, samples), min(r.num_episodes for r in records))
  return k, {pid: (0, k) for pid in policy_ids}
