"""Small real episode collections (real shards + policy table) for tests."""

import numpy as np

from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import policy_table, rlu_atari
from offline_scaling.data.rlu_atari import RLUAtariSource
from offline_scaling.data.sources import PybulletSource


def make_source(root, num_policies=6, episodes_per_policy=3, obs_dim=3, num_actions=8,
                env="hopper", seed=0, max_len=40):
  """Episodes whose observations encode (policy, episode, t) in their first 3 entries;
  policy p's rewards are centred on p, so values rise with p. `episodes_per_policy`:
  one count for all, or policy p's count at index p."""
  rng = np.random.default_rng(seed)
  counts = np.broadcast_to(episodes_per_policy, (num_policies,))
  records = []
  for p in range(num_policies):
    eps = []
    for e in range(int(counts[p])):
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


def make_atari_source(root, game="Pong", checkpoints=2, episodes_per_checkpoint=2, seed=0,
                      max_len=30):
  """Run 1 of `game` in RL Unplugged raw files: random 84×84 frames and actions,
  rewards in {−1, 0, 1}; one file (policy) per checkpoint."""
  rng = np.random.default_rng(seed)
  for k in range(checkpoints):
    eps = [ep_lib.Episode(observations=rng.integers(0, 256, (L + 1, 84, 84), dtype=np.uint8),
                          actions=rng.integers(0, 6, L), rewards=rng.choice([-1.0, 0.0, 1.0], L),
                          terminated=bool(e % 2), checkpoint_step=k, index=e)
           for e, L in enumerate(rng.integers(5, max_len, episodes_per_checkpoint))]
    rlu_atari.write_file(root / rlu_atari.file_name(game, 1, k, checkpoints), eps)
  return RLUAtariSource(root, game, runs=(1,), checkpoints=range(checkpoints))
