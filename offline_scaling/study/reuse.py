"""RFI's reuse ablation: one sample budget over one pass of a large set of top
episodes, or over many passes of a small one (issue 20).

RFI is BC on the top 10% of episodes by return. A one-pass study sizes its
collection for the others' budgets, so RFI's runs cycle their top episodes
about ten times (their `passes` recorded). Whether that reuse changes RFI's
result is measured at one level of a sweep's collection, at a budget the
collection can hold once:

* arm `one_pass`: the first k₁ episodes of every selected policy, k₁ the
  fewest whose top 10% hold the budget (`one_pass_episodes`);
* arm `reuse`: the first k₁ / `reuse` episodes of every policy, so the run
  draws the same samples from about `reuse` times fewer distinct
  transitions.

Everything else (the level's policies, the model, updates, seeds, evaluation
episodes) is the sweep's point, so the arms differ in their data alone.
"""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np
from scipy import stats

from offline_scaling.data.expertise import select_policies
from offline_scaling.data.sources import PybulletSource
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import intervals


@dataclasses.dataclass(frozen=True)
class EpisodeTable:
  """The first episodes of each selected policy: returns and lengths.

  Attributes:
    returns: [P, n] float64, episode returns (env reward units); NaN past a
      policy's last episode.
    lengths: [P, n] int64, transitions per episode; 0 past the last.
  """
  returns: np.ndarray
  lengths: np.ndarray

  @property
  def max_k(self) -> int:
    """The most episodes every policy holds."""
    return int((self.lengths > 0).sum(axis=1).min())

  def rfi_transitions(self, k: int, fraction: float = 0.1) -> int:
    """Transitions in the top `fraction` of the pooled first k episodes of every
    policy, by the stream's rule (return ≥ the (1 − fraction) quantile, 'higher')."""
    returns = self.returns[:, :k].ravel()
    threshold = np.quantile(returns, 1.0 - fraction, method="higher")
    return int(self.lengths[:, :k].ravel()[returns >= threshold].sum())


def read_episode_table(source: PybulletSource, policy_ids, max_episodes: int) -> EpisodeTable:
  """Returns and lengths of the first `max_episodes` episodes of each policy."""
  ranges = {pid: (0, max_episodes) for pid in policy_ids}
  row = {pid: i for i, pid in enumerate(policy_ids)}
  returns = np.full((len(policy_ids), max_episodes), np.nan)
  lengths = np.zeros((len(policy_ids), max_episodes), np.int64)
  for ep in source.episodes(policy_ids, ranges).as_numpy_iterator():
    i, j = row[ep["policy_id"].decode()], int(ep["episode_index"])
    returns[i, j], lengths[i, j] = float(ep["episode_return"]), len(ep["rewards"])
  return EpisodeTable(returns, lengths)


def one_pass_episodes(table: EpisodeTable, samples: int, fraction: float = 0.1) -> int:
  """The fewest episodes k per policy whose top `fraction` hold `samples`
  transitions.

  Raises:
    OfflineScalingError: when even every policy's shared episodes fall short.
  """
  for k in range(1, table.max_k + 1):
    if table.rfi_transitions(k, fraction) >= samples:
      return k
  raise OfflineScalingError(
      f"the top {fraction:.0%} of the first {table.max_k} episodes of every policy hold "
      f"{table.rfi_transitions(table.max_k, fraction):,} transitions, fewer than the "
      f"{samples:,} samples of one pass: lower --steps or collect more")


def arm_configs(point_config: ml_collections.ConfigDict, source: PybulletSource,
                steps: int, reuse: int) -> dict[str, ml_collections.ConfigDict]:
  """The two arms' run configs, from a sweep point's RFI run config.

  Args:
    point_config: the point's run config (`grid.run_config`), algo RFI.
    source: the collection it reads.
    steps: updates per seed of both arms (their budget: steps × batch size).
    reuse: how many times fewer episodes per policy the `reuse` arm takes.

  Returns:
    {"one_pass": config, "reuse": config}: each takes the first k episodes of
    every selected policy (`num_episodes` = k × P, position `first`) and
    cycles them (`stream.repeat`).
  """
  if point_config.agent.algo != "rfi":
    raise OfflineScalingError(f"the reuse ablation runs RFI, not {point_config.agent.algo!r}")
  c = point_config
  table_rows = [p for p in source.policies() if p.env == c.env]
  ids = select_policies(table_rows, c.expertise, c.num_policies, c.selection_rule).policy_ids
  by_id = {p.policy_id: p for p in table_rows}
  episodes = read_episode_table(source, ids, min(by_id[pid].num_episodes for pid in ids))
  k = one_pass_episodes(episodes, steps * c.train.batch_size, c.stream.rfi_fraction)
  out = {}
  for arm, per_policy in (("one_pass", k), ("reuse", max(1, round(k / reuse)))):
    arm_config = c.copy_and_resolve_references()
    arm_config.train.steps = steps
    arm_config.train.eval_every = steps
    arm_config.train.checkpoint_every = steps
    arm_config.equal_episodes = False
    arm_config.num_episodes = per_policy * len(ids)
    arm_config.episode_position = "first"
    arm_config.stream.repeat = True
    out[arm] = arm_config
  return out


def summarize(results: dict[str, dict]) -> list[dict]:
  """One row per arm: episodes per policy, distinct (top-episode) transitions,
  samples per seed, passes, the mean return over seeds with its 95% CI, and the
  best expert's value; the `reuse` row adds the CI of its difference from
  `one_pass` (independent bootstrap over each arm's seeds)."""
  seeds = {arm: np.asarray(r["eval"]["returns"], float).mean(axis=1)
           for arm, r in results.items()}
  rows = []
  for arm, r in results.items():
    low, high = intervals.mean_ci(seeds[arm])
    row = dict(arm=arm, episodes_per_policy=r["config"]["num_episodes"]
               // len(r["selection"]["policy_ids"]),
               distinct_transitions=r["distinct_transitions"], samples=r["samples_seen"],
               passes=round(r["passes"], 2), return_mean=float(seeds[arm].mean()),
               return_ci_low=low, return_ci_high=high,
               best_expert_value=r["best_expert_value"], num_seeds=len(seeds[arm]))
    if arm == "reuse" and "one_pass" in seeds:
      ci = stats.bootstrap((seeds["reuse"], seeds["one_pass"]),
                           lambda a, b: np.mean(a) - np.mean(b), n_resamples=intervals.N_RESAMPLES,
                           confidence_level=intervals.LEVEL, method="percentile",
                           rng=np.random.default_rng(intervals.SEED)).confidence_interval
      row.update(minus_one_pass_low=float(ci.low), minus_one_pass_high=float(ci.high))
    rows.append(row)
  return rows
