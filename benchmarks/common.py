"""What the benchmarks share: a description of the machine, its matmul peak,
XLA's FLOP count of an update, and synthetic shards.

Only `make_data` needs TensorFlow (it imports `offline_scaling.data` when
called), so `benchmarks.device_check` runs where JAX is installed and
TensorFlow is not.
"""

from __future__ import annotations

import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from etils import epath

OBS_DIM, NUM_ACTIONS = 26, 64  # HalfCheetah with bang-bang actions
ATARI_OBS, ATARI_ACTIONS = (84, 84, 4), 6  # 4 stacked 84×84 frames; Pong's actions


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


# Cores other processes may keep busy during a timed window before a ratio
# measured in it is marked busy and not quoted.
BUSY_CORES = 0.25


def _cpu_seconds(stat: str) -> float:
  """utime + stime + cutime + cstime of a /proc/<pid>/stat line, in seconds."""
  fields = stat.rsplit(")", 1)[1].split()
  return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class OthersLoad:
  """CPU cores that *other* processes kept busy while the `with` block ran:
  the machine's busy time (`/proc/stat`) less this process's own (with its
  waited-for children) and that of the processes `exclude` names (e.g. a
  peer's server process the block drives), over the wall time. A load
  average would count the benchmark itself. None where /proc is missing.

  Example:
    with OthersLoad() as load:
      ...            # the timed window
    load.cores       # e.g. 0.03: idle apart from us; 1.0: one core taken
  """

  cores: float | None = None

  def __init__(self, exclude: tuple[int, ...] = ()):
    self._pids = ("self", *map(str, exclude))

  def _read(self) -> tuple[float, float] | None:
    """(machine busy seconds over all cores, CPU seconds of the processes counted as ours)."""
    try:
      with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
      own = 0.0
      for pid in self._pids:
        with open(f"/proc/{pid}/stat") as f:
          own += _cpu_seconds(f.read())
    except OSError:
      return None
    busy = sum(fields) - fields[3] - fields[4]   # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK"), own

  def __enter__(self) -> "OthersLoad":
    self._start, self._t0 = self._read(), time.perf_counter()
    return self

  def __exit__(self, *exc) -> None:
    end = self._read()
    if self._start is not None and end is not None:
      wall = time.perf_counter() - self._t0
      self.cores = max(0.0, (end[0] - self._start[0]) - (end[1] - self._start[1])) / wall


def raw_env_rate(env: str = "hopper", steps: int = 10_000, seed: int = 0) -> float:
  """Env steps/s of random actions in one PyBullet env, resets included: the
  machine's speed that every timing is quoted beside (`HopperBulletEnv` by default)."""
  from offline_scaling.envs import make_env  # pylint: disable=g-import-not-at-top
  e = make_env(env, seed=seed)
  e.reset(seed=seed)
  n, t0 = 0, time.perf_counter()
  while n < steps:
    _, _, terminated, truncated, _ = e.step(e.action_space.sample())
    n += 1
    if terminated or truncated:
      e.reset()
  rate = n / (time.perf_counter() - t0)
  e.close()
  return rate


def matmul_peak_gflops(n: int = 2048, repeats: int = 10, dtype=jnp.float32) -> float:
  """This machine's matmul peak in GFLOP/s: 2n³ over the median time of a jitted
  n × n by n × n product of normal `dtype` matrices (JAX's default precision)."""
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
  f = jax.jit(lambda x: x @ x)
  f(a).block_until_ready()
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    f(a).block_until_ready()
    times.append(time.perf_counter() - t0)
  return 2 * n ** 3 / np.median(times) / 1e9


def update_flops(agent, states, stream_batch: dict, batch_size: int) -> float:
  """XLA's FLOP count of one update of one seed (a scan body is counted only
  once by XLA, so the update is compiled on its own).

  Args:
    agent: the algorithm (`agents.base.Agent` or CQL's).
    states: the Trainer's states, seeds stacked on axis 0.
    stream_batch: a stream batch, [S, K × B, ...] (seed 0's first `batch_size`
      rows are used).
    batch_size: transitions per update.
  """
  state = jax.tree.map(lambda x: x[0], states)
  batch = {k: v[0, :batch_size] for k, v in stream_batch.items()}
  cost = jax.jit(agent.update).lower(state, batch).compile().cost_analysis()
  return (cost[0] if isinstance(cost, list) else cost)["flops"]


def make_data(root: epath.Path, episodes: int = 200, length: int = 1000):
  """Real shards of random HalfCheetah-sized episodes (20 policies); a `PybulletSource`."""
  # TensorFlow is imported here, by the one helper that needs it.
  from offline_scaling.data import episodes as ep_lib  # pylint: disable=g-import-not-at-top
  from offline_scaling.data import policy_table  # pylint: disable=g-import-not-at-top
  from offline_scaling.data.sources import PybulletSource  # pylint: disable=g-import-not-at-top

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


