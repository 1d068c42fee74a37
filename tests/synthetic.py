"""Small real episode collections (real shards + policy table) for tests."""

import numpy as np

from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import policy_table
from offline_scaling.data.sources import PybulletSource


def make_source(root, num_policies=6, episodes_per_policy=3, obs_dim=3, num_actions=8,
                env="hopper", seed=0, max_len=40):
  """Episodes whose observations encode (policy, episode, t) in their first 3 entries;
  policy p's rewards are centred on p, so values rise with p."""
  rng = np.random.default_rng(seed)
  records = []
  for p in range(num_policies):
    eps = []
    for e in range(episodes_per_policy):
      L = int(rng.integers(1, max_len))
      obs = rng.normal(size=(L + 1, obs_dim)).astype(np.float32)
      obs[:, 0], obs[:, 1], obs[:, 2] = p, e, np.arange(L + 1)
      eps.append(ep_lib.Episode(observations=obs, actions=rng.integers(0, num_actions, L),
                                rewards=rng.normal(size=L).astype(np.float32) + p,
                                terminated=bool(e % 2), policy_id=f"pol{p}", env=env,
                                seed=p, checkpoint_step=1000 * p, index=e))
    path = ep_lib.write_shard(root / "shards" / f"pol{p}.tfrecord", eps)
    records.append(policy_table.summarize(eps, str(path.relative_to(root))))
  policy_table.write_policy_table(root / "policy_table.json", records)
  return PybulletSource(root)
