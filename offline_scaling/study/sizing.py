"""Sizing a sweep's own collection for one pass: no run sees a transition twice.

A run draws `train.steps × train.batch_size` samples per seed (its vmapped
seeds read the same data, each in its own order) from the episodes of the n
policies its expertise level selects. With `collect.one_pass` the collect
stage, after the valuation collection (`collect.episodes` episodes per
policy, which give each policy its value), selects each point's policies
from the policy table exactly as its run will (`select_policies`, same rule,
level and P) and tops every selected policy up to

    ceil(budget / n)  transitions (the largest such share over the points that select it),

so every selection holds at least its points' budget. Choices:

* RFI trains on the top 10% of episodes by return, so one pass over its
  filtered data would take 10× the collection: its points are sized like the
  others' and its runs cycle their data, recording their `passes` instead
  (the other runs of a one-pass sweep stream once, `grid.run_config`).
* A top-up moves its policy's value (the mean return of all its episodes),
  which can move a selection: select → top up repeats until no selected
  policy lacks data, for at most `MAX_ROUNDS` rounds (the stage says when it
  stopped short, and `one_pass.json` in the collection records it).
* `collect.max_steps_per_policy` (0: none) caps every policy's share: a
  capped policy has fewer transitions, and a run whose selection holds less
  than its budget ends when its one pass does (`data_exhausted`; RFI's
  cycle, with passes > 1).
* A top-up plays whole episodes, so a policy may pass its share by up to
  one episode (`MAX_EPISODE_STEPS`).
"""

from __future__ import annotations

import ml_collections

from offline_scaling.data.expertise import select_policies
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.envs import canonical_name
from offline_scaling.study import grid

MAX_ROUNDS = 10
# The PyBullet tasks' time limit: no episode is longer.
MAX_EPISODE_STEPS = 1_000
# Written into the collection when sizing ends: rounds, converged, lacking.
RECORD_NAME = "one_pass.json"


def budget(config: ml_collections.ConfigDict) -> int:
  """Samples one seed of a run draws: `train.steps × train.batch_size` (transitions)."""
  return config.train.steps * config.train.batch_size


def targets(sweep: ml_collections.ConfigDict, records: list[PolicyRecord]) -> dict[str, int]:
  """Transitions each policy that some point selects must hold (see the module
  docstring): policy id -> ceil(budget / n selected), the max over the points
  that select it, capped at `collect.max_steps_per_policy` when that is > 0."""
  cap = sweep.collect.max_steps_per_policy
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
    share = -(-budget(c) // len(ids))
    if cap:
      share = min(share, cap)
    for pid in ids:
      out[pid] = max(out.get(pid, 0), share)
  return out


def lacking(sweep: ml_collections.ConfigDict,
            records: list[PolicyRecord]) -> dict[str, tuple[int, int]]:
  """The selected policies that hold fewer transitions than their target:
  policy id -> (transitions held, target), in id order."""
  held = {r.policy_id: r.num_steps for r in records}
  return {pid: (held[pid], t) for pid, t in sorted(targets(sweep, records).items())
          if held[pid] < t}


def top_up_bound(sweep: ml_collections.ConfigDict, num_policies: int) -> int:
  """An upper bound on the transitions one pass adds before any value is known.

  Each distinct dataset (env, expertise, P) of the grid needs its budget B
  from its n ≤ P policies, each passing its share by less than one episode:
  at most B + P·MAX_EPISODE_STEPS (with a cap c, n·c + P·MAX_EPISODE_STEPS);
  and no policy needs more than the largest share plus one episode, over
  `num_policies` policies. It holds for one selection: a round whose moved
  values select other policies can add to it.
  """
  cap = sweep.collect.max_steps_per_policy
  datasets = {}
  for point in grid.points(sweep):
    c = grid.run_config(sweep, point)
    key = (canonical_name(c.env), c.expertise, c.num_policies)
    datasets[key] = max(datasets.get(key, 0), budget(c))
  per_dataset = sum(min(b, p * cap) if cap else b
                    for (_, _, p), b in datasets.items())
  per_dataset += sum(p for _, _, p in datasets) * MAX_EPISODE_STEPS
  largest = max(datasets.values())
  per_policy = num_policies * ((min(largest, cap) if cap else largest) + MAX_EPISODE_STEPS)
  return min(per_dataset, per_policy)
