"""Sizing a sweep's own collection for one pass: no run sees a transition twice.

A run draws `train.steps × train.batch_size` samples per seed (its vmapped
seeds read the same data, each in its own order) from the first k episodes of
each of the n policies its expertise level selects (`equal_episodes`: the
paper's datasets hold a fixed number of episodes per policy). With
`collect.one_pass` the collect stage, after the valuation collection
(`collect.episodes` episodes per policy, which give each policy its value),
selects each point's policies from the policy table exactly as its run will
(`select_policies`, same rule, level and P) and tops every selected policy up to

    k = ⌈1.05 · budget / Σ mean episode lengths of the n⌉  episodes
        (`expertise.episodes_for_budget`; the largest k over the points that select it),

so every selection's first k episodes hold at least its points' budget. Choices:

* RFI trains on the top 10% of episodes by return, so one pass over its
  filtered data would take 10× the collection: its points are sized like the
  others' and its runs cycle their data, recording their `passes` instead
  (the other runs of a one-pass sweep stream once, `grid.run_config`).
* A top-up moves its policy's value (the mean return of all its episodes) and
  mean episode length, which can move a selection and its k: select → top up
  repeats until no selected policy lacks episodes, for at most `MAX_ROUNDS`
  rounds (the stage says when it stopped short, and `one_pass.json` in the
  collection records it).
* `collect.max_steps_per_policy` (0: none) caps k so that no policy is asked
  for more than about that many transitions: a run whose selection then holds
  less than its budget ends when its one pass does (`data_exhausted`; RFI's
  cycle, with passes > 1).
* A top-up plays whole episodes of at most `MAX_EPISODE_STEPS` steps.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import ml_collections

from offline_scaling.data.expertise import (BUDGET_MARGIN, episodes_for_budget, mean_length,
                                           select_policies)
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.envs import canonical_name
from offline_scaling.study import grid

MAX_ROUNDS = 10
# The PyBullet tasks' time limit: no episode is longer.
MAX_EPISODE_STEPS = 1_000
# Written into the collection when sizing ends: rounds, converged, lacking.
RECORD_NAME = "one_pass.json"
# The round under way: its number and targets (`stages.size_for_one_pass`).
ROUND_NAME = "one_pass_round.json"


def budget(config: ml_collections.ConfigDict) -> int:
  """Samples one seed of a run draws: `train.steps × train.batch_size` (transitions)."""
  return config.train.steps * config.train.batch_size


class Shortfall(NamedTuple):
  """A selected policy that holds fewer episodes than its target."""
  episodes: int   # held
  target: int     # episodes it must hold
  steps: int      # about how many transitions the top-up adds (at its mean length)


def targets(sweep: ml_collections.ConfigDict, records: list[PolicyRecord]) -> dict[str, int]:
  """Episodes each policy that some point selects must hold (see the module
  docstring): policy id -> the largest k (`episodes_for_budget`) over the
  points that select it, capped by `collect.max_steps_per_policy` when > 0."""
  cap = sweep.collect.max_steps_per_policy
  by_id = {r.policy_id: r for r in records}
  selections = {}
  out: dict[str, int] = {}
  for point in grid.points(sweep):
    c = grid.run_config(sweep, point)
    env = canonical_name(c.env)
    key = (env, c.expertise, c.num_policies, c.selection_rule)
    if key not in selections:
      selections[key] = select_policies([r for r in records if r.env == env], c.expertise,
                                        c.num_policies, c.selection_rule).policy_ids
    ids = selections[key]
    k = episodes_for_budget([by_id[pid] for pid in ids], budget(c), cap)
    for pid in ids:
      out[pid] = max(out.get(pid, 0), k)
  return out


def lacking(sweep: ml_collections.ConfigDict,
            records: list[PolicyRecord]) -> dict[str, Shortfall]:
  """The selected policies that hold fewer episodes than their target, in id order."""
  by_id = {r.policy_id: r for r in records}
  out = {}
  for pid, k in sorted(targets(sweep, records).items()):
    r = by_id[pid]
    if r.num_episodes < k:
      out[pid] = Shortfall(r.num_episodes, k, round((k - r.num_episodes) * mean_length(r)))
  return out


def top_up_bound(sweep: ml_collections.ConfigDict, num_policies: int) -> int:
  """An upper bound on the transitions one pass adds before any value is known.

  Each distinct dataset (env, expertise, P) of the grid needs about 1.05 B
  (`BUDGET_MARGIN` times its budget B) from its n ≤ P policies, each passing
  its part by less than one episode: at most 1.05 B + P·MAX_EPISODE_STEPS
  (with a cap c, n·c + P·MAX_EPISODE_STEPS); and no policy needs more than
  1.05 times the largest budget plus one episode, over `num_policies`
  policies. It holds for one selection: a round whose moved values select
  other policies can add to it.
  """
  cap = sweep.collect.max_steps_per_policy
  datasets = {}
  for point in grid.points(sweep):
    c = grid.run_config(sweep, point)
    key = (canonical_name(c.env), c.expertise, c.num_policies)
    datasets[key] = max(datasets.get(key, 0), math.ceil(BUDGET_MARGIN * budget(c)))
  per_dataset = sum(min(b, p * cap) if cap else b
                    for (_, _, p), b in datasets.items())
  per_dataset += sum(p for _, _, p in datasets) * MAX_EPISODE_STEPS
  largest = max(datasets.values())
  per_policy = num_policies * ((min(largest, cap) if cap else largest) + MAX_EPISODE_STEPS)
  return min(per_dataset, per_policy)
