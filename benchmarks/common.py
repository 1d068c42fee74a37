"""What the benchmarks share: a description of the machine and synthetic shards."""

from __future__ import annotations

import os
import platform

import numpy as np
from absl import logging
from etils import epath

from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import policy_table
from offline_scaling.data.sources import PybulletSource

OBS_DIM, NUM_ACTIONS = 26, 64  # HalfCheetah with bang-bang actions


def quiet() -> None:
  """Warnings only: orbax logs every checkpoint at INFO."""
  logging.set_verbosity(logging.WARNING)


def machine() -> str:
  """CPU model (from /proc/cpuinfo where available) and core count."""
  name = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      name = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
  except (OSError, StopIteration):
    pass
  return f"{name}, {os.cpu_count()} cores"


def make_data(root: epath.Path, episodes: int = 200, length: int = 1000) -> PybulletSource:
  """Real shards of random HalfCheetah-sized episodes (20 policies)."""
  rng = np.random.default_rng(0)
  records = []
  for p in range(20):
    eps = [ep_lib.Episode(observations=rng.normal(size=(length + 1, OBS_DIM)).astype(np.float32),
                          actions=rng.integers(0, NUM_ACTIONS, length),
                          rewards=rng.normal(size=length).astype(np.float32), terminated=False,
                          policy_id=f"p{p}", env="halfcheetah", index=e)
           for e in range(episodes // 20)]
    path = ep_lib.write_shard(root / f"p{p}.tfrecord", eps)
    records.append(policy_table.summarize(eps, path.name))
  policy_table.write_policy_table(root / policy_table.TABLE_NAME, records)
  return PybulletSource(root)


