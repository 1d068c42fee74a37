"""The best data-collecting expert of each expertise level, played sampled and greedy.

A policy's value in the policy table is its mean return when it *samples* its
actions, as it did when its episodes were collected. Offline agents are
evaluated by their policy's mode (`agents.imitation`), so comparing the two
mixes two ways of acting. `best_expert_returns` replays each level's best
expert both ways, so that performance at scale can be read against either.
"""

from __future__ import annotations

import ml_collections
import pandas as pd
from etils import epath

from offline_scaling.data import policy_table
from offline_scaling.data.expertise import select_policies
from offline_scaling.envs import canonical_name, make_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import stages
from offline_scaling.train import rollout
from offline_scaling.train.experts import list_zoo

# Seeds of the replays, apart from the collection's and the evaluations'.
REPLAY_SEED = 50_000


def best_expert_returns(sweep: ml_collections.ConfigDict, workdir: str | epath.Path,
                        episodes: int = 10) -> pd.DataFrame:
  """One row per (env, expertise): the level's best expert, its table value,
  and its mean return over `episodes` episodes sampled and greedy.

  Columns: env, expertise, policy_id, table_value (sampled, from the
  collection), sampled_return, greedy_return, episodes.

  Raises:
    OfflineScalingError: for an Atari sweep (its experts are DQN Replay
      checkpoints, not in a zoo here) or a zoo missing the policy.
  """
  if sweep.domain != "pybullet":
    raise OfflineScalingError("best expert replays need a PyBullet zoo; sweep "
                              f"{sweep.name} is {sweep.domain}")
  root = stages.episodes_dir(sweep, workdir)
  table = policy_table.read_policy_table(root / policy_table.TABLE_NAME)
  zoo = {p.policy_id: p for p in list_zoo(stages.zoo_dir(workdir))}
  rows = []
  for env in sweep.envs:
    name = canonical_name(env)
    policies = [p for p in table if p.env == name]
    for e in sweep.expertise:
      # Every P selects the level's best eligible policy: the largest P will do.
      selection = select_policies(policies, e, max(sweep.num_policies), sweep.selection_rule)
      best = selection.policy_ids[-1]
      if best not in zoo:
        raise OfflineScalingError(f"policy {best} is not in the zoo {stages.zoo_dir(workdir)}")
      policy, _ = zoo[best].load()
      row = dict(env=name, expertise=float(e), policy_id=best,
                 table_value=selection.best_value, episodes=episodes)
      for how, greedy in (("sampled", False), ("greedy", True)):
        with make_env(name, seed=REPLAY_SEED) as game:
          row[f"{how}_return"] = rollout.evaluate(
              game, rollout.ppo_act_fn(policy, deterministic=greedy), episodes,
              REPLAY_SEED)["mean"]
      rows.append(row)
  return pd.DataFrame(rows)
