"""tf.data streams of training batches, per algorithm, from any episode source.

    episodes (parallel interleave over files, one host's share)
      → per episode: transitions of the algorithm, in chunks of `chunk` steps
        (frame stacks and n-step targets built here, inside the episode)
      → interleave chunks of `cycle_length` episodes → blocks of `shuffle_block`
        transitions, each randomly permuted → batch → prefetch

Per algorithm, a batch of B transitions holds

| algo      | fields                                                                          |
|-----------|---------------------------------------------------------------------------------|
| bc, rfi   | obs [B, *obs], action [B]                                                       |
| rci       | obs, action, episode_return [B] (the trajectory's total return)                 |
| cql       | obs, action, reward [B] (n-step discounted sum), discount [B], next_obs [B, *obs] |

RFI is BC on the episodes whose return is in the top `rfi_fraction` of the
selected dataset. CQL's n-step target at step t sums k = min(n, L − t) rewards,
r_t + γ r_{t+1} + … + γ^{k−1} r_{t+k−1}; discount = γ^k, or 0 when the episode
terminated within those k steps; next_obs = o_{t+k}. At a time-limit end
(not terminal) the target bootstraps from the last observation.

With `frame_stack = S > 1` (Atari), obs at step t is frames t−S+1 … t stacked on
the last axis, zeros before the episode's first frame (Dopamine's convention);
stacks never cross episodes and frames stay uint8. Stacks exist only for the
transitions in flight (the chunks and the shuffle block), never on disk.

**One pass or repeat.** `repeat=False` is the infinite-data mode: every
transition of the selected episodes is delivered exactly once over all hosts
together (hosts read disjoint files), then the stream ends. `repeat=True`
cycles for finite datasets. The order is a pure function of `seed`; the
stream's position is saved and restored with `Stream.save` / `Stream.restore`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator, Sequence

import ml_collections
import numpy as np
import tensorflow as tf

from offline_scaling.data.sources import EpisodeRanges, EpisodeSource
from offline_scaling.errors import OfflineScalingError

ALGOS = ("bc", "rfi", "rci", "cql")


def default_config() -> ml_collections.ConfigDict:
  """Stream settings; algorithm-specific ones are ignored by the others."""
  c = ml_collections.ConfigDict()
  c.algo = "bc"
  c.batch_size = 256
  c.seed = 0
  c.repeat = False          # False: one pass, no transition delivered twice
  c.shuffle_block = 8_192   # transitions shuffled together (one permutation per block)
  c.cycle_length = 64       # episodes whose chunks are interleaved into a block
  c.chunk = 64              # transitions built per step of an episode's sub-stream
  c.frame_stack = 1         # 4 for Atari
  c.n_step = 3              # cql
  c.gamma = 0.99            # cql
  c.rfi_fraction = 0.1      # rfi: keep the top 10% trajectories by return
  c.with_ids = False        # add policy_id, episode_index, step (for tests/debugging)
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the stream settings; one message naming the field."""
  if config.algo not in ALGOS:
    raise OfflineScalingError(f"stream algo '{config.algo}' is not one of {ALGOS}")
  for field in ("batch_size", "shuffle_block", "cycle_length", "chunk", "frame_stack",
                "n_step"):
    if not (isinstance(config[field], int) and config[field] >= 1):
      raise OfflineScalingError(f"stream setting {field}={config[field]!r} must be an integer >= 1")
  if not 0.0 < config.gamma <= 1.0:
    raise OfflineScalingError(f"stream setting gamma={config.gamma} must lie in (0, 1]")
  if not 0.0 < config.rfi_fraction <= 1.0:
    raise OfflineScalingError(
        f"stream setting rfi_fraction={config.rfi_fraction} must lie in (0, 1]")


@dataclasses.dataclass(frozen=True)
class DatasetStats:
  """Of the selected episodes (all hosts): what RCI, RFI and the figures need.

  Attributes:
    g_min, g_max: smallest / largest trajectory return.
    num_episodes, num_transitions: sizes.
    rfi_threshold: the return at or above which an episode is in the top
      `rfi_fraction` (the (1 − fraction) quantile, 'higher' interpolation).
  """
  g_min: float
  g_max: float
  num_episodes: int
  num_transitions: int
  rfi_threshold: float

  def to_dict(self) -> dict:
    """The statistics as a JSON-ready dict."""
    return dataclasses.asdict(self)


def dataset_stats(source: EpisodeSource, policy_ids: Sequence[str],
                  episode_ranges: EpisodeRanges | None = None,
                  rfi_fraction: float = 0.1) -> DatasetStats:
  """One pass over the selected episodes' returns and lengths."""
  ds = source.episodes(policy_ids, episode_ranges).map(
      lambda ep: (ep["episode_return"], tf.shape(ep["actions"])[0]),
      num_parallel_calls=tf.data.AUTOTUNE)
  returns, lengths = [], []
  for g, n in ds.as_numpy_iterator():
    returns.append(g)
    lengths.append(n)
  if not returns:
    raise OfflineScalingError(
        f"the selected policies ({len(policy_ids)}) have no episodes in the given ranges")
  returns = np.asarray(returns, np.float64)
  return DatasetStats(g_min=float(returns.min()), g_max=float(returns.max()),
                      num_episodes=len(returns), num_transitions=int(np.sum(lengths)),
                      rfi_threshold=float(np.quantile(returns, 1.0 - rfi_fraction,
                                                      method="higher")))


def n_step_targets(rewards: tf.Tensor, discounts: tf.Tensor, n: int, gamma: float):
  """n-step targets within one episode (see the module docstring).

  Args:
    rewards: [L] float32.
    discounts: [L] float32 (0 where a_t ended the episode in a terminal state).

  Returns:
    (reward [L], discount [L], k [L] int32: steps summed, next obs = o_{t+k}).
  """
  L = tf.shape(rewards)[0]
  t = tf.range(L)
  k = tf.minimum(n, L - t)
  offsets = tf.range(n)
  idx = tf.minimum(t[:, None] + offsets[None, :], L - 1)          # [L, n]
  valid = offsets[None, :] < k[:, None]
  powers = tf.pow(tf.cast(gamma, tf.float32), tf.cast(offsets, tf.float32))
  # Only an episode's last transition can be terminal, so no summed reward
  # ever lies beyond a terminal state.
  reward = tf.reduce_sum(tf.where(valid, tf.gather(rewards, idx) * powers, 0.0), 1)
  not_terminal = tf.reduce_prod(tf.where(valid, tf.gather(discounts, idx), 1.0), 1)
  discount = tf.pow(tf.cast(gamma, tf.float32), tf.cast(k, tf.float32)) * not_terminal
  return reward, discount, k


def stack_frames(frames: tf.Tensor, t: tf.Tensor, stack: int) -> tf.Tensor:
  """Observations at steps t [C] from per-step frames [L + 1, *obs].

  stack = 1: frames[t] ([C, *obs]). stack = S > 1: frames t − S + 1 … t on a
  new last axis ([C, H, W, S]), zeros for steps before the episode's start.
  """
  if stack == 1:
    return tf.gather(frames, t)
  idx = t[:, None] + tf.range(-stack + 1, 1)[None, :]               # [C, S]
  stacked = tf.gather(frames, tf.maximum(idx, 0))                    # [C, S, H, W]
  stacked = stacked * tf.cast(idx >= 0, frames.dtype)[:, :, None, None]
  return tf.transpose(stacked, [0, 2, 3, 1])


def _episode_chunks(ep: dict, config: ml_collections.ConfigDict) -> tf.data.Dataset:
  """One episode -> a dataset of chunks of ≤ `chunk` consecutive transitions."""
  L = tf.shape(ep["actions"])[0]
  index = dict(t=tf.range(L), action=ep["actions"])
  if config.algo == "rci":
    index["episode_return"] = tf.fill([L], ep["episode_return"])
  if config.algo == "cql":
    index["reward"], index["discount"], k = n_step_targets(
        ep["rewards"], ep["discounts"], config.n_step, config.gamma)
    index["t_next"] = index["t"] + k
  if config.with_ids:
    index["policy_id"] = tf.fill([L], ep["policy_id"])
    index["episode_index"] = tf.fill([L], ep["episode_index"])
  frames = ep["observations"]

  def add_obs(chunk):
    chunk = dict(chunk)
    chunk["obs"] = stack_frames(frames, chunk["t"], config.frame_stack)
    if "t_next" in chunk:
      chunk["next_obs"] = stack_frames(frames, chunk.pop("t_next"), config.frame_stack)
    if config.with_ids:
      chunk["step"] = chunk["t"]
    del chunk["t"]
    return chunk

  return tf.data.Dataset.from_tensor_slices(index).batch(config.chunk).map(add_obs)


def host_policies(policy_ids: Sequence[str], seed: int, host: tuple[int, int] = (0, 1)
                  ) -> list[str]:
  """This host's policies: the same seeded order on every host, then every
  count-th from `index`. Disjoint over hosts, all of them together."""
  index, count = host
  order = np.random.default_rng(seed).permutation(len(policy_ids))
  return [policy_ids[i] for i in order[index::count]]


def build_dataset(source: EpisodeSource, policy_ids: Sequence[str],
                  config: ml_collections.ConfigDict,
                  episode_ranges: EpisodeRanges | None = None,
                  stats: DatasetStats | None = None,
                  host: tuple[int, int] = (0, 1)) -> tf.data.Dataset:
  """The batched tf.data stream of this host (see the module docstring).

  Args:
    source: where the episodes come from.
    policy_ids: the selected policies (e.g. `select_policies(...).policy_ids`).
    config: `default_config()` or a variant.
    episode_ranges: per-policy episode index ranges to keep (Atari).
    stats: `dataset_stats(...)` of the selection; needed for RFI (computed
      when missing).
    host: (index, count) of this host; hosts read disjoint files.

  Returns:
    Batches of numpy-convertible dicts; with `repeat=False` the last partial
    batch is kept, so no transition is dropped.
  """
  validate(config)
  if not policy_ids:
    raise OfflineScalingError("no policy selected: the stream would be empty")
  episodes = source.episodes(host_policies(policy_ids, config.seed, host), episode_ranges)
  if config.algo == "rfi":
    stats = stats or dataset_stats(source, policy_ids, episode_ranges, config.rfi_fraction)
    threshold = tf.constant(stats.rfi_threshold, tf.float32)
    episodes = episodes.filter(lambda ep: ep["episode_return"] >= threshold)
  if config.repeat:
    episodes = episodes.repeat()
  ds = episodes.interleave(lambda ep: _episode_chunks(ep, config),
                           cycle_length=config.cycle_length, block_length=1,
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  # Shuffle whole blocks of transitions with one vectorised permutation each:
  # tf.data's per-element shuffle would cost more than everything else here.
  ds = ds.rebatch(config.shuffle_block).enumerate().map(
      lambda i, block: _permute(block, tf.stack([tf.cast(config.seed, tf.int64), i])),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.rebatch(config.batch_size, drop_remainder=config.repeat)
  return ds.prefetch(tf.data.AUTOTUNE)


def _permute(block: dict, seed: tf.Tensor) -> dict:
  """The same seeded random permutation of every field's leading axis."""
  n = tf.shape(next(iter(block.values())))[0]
  perm = tf.random.experimental.stateless_shuffle(tf.range(n), seed=seed)
  return {k: tf.gather(v, perm) for k, v in block.items()}


class Stream:
  """An iterator of numpy batches whose position can be saved and restored.

  The position is tf.data's own iterator checkpoint (it holds the buffered
  blocks, so its size grows with `shuffle_block`). A read error
  deep inside tf.data (truncated file, corrupt record, missing feature) is
  traced back to the file and raised as one `OfflineScalingError`.
  """

  def __init__(self, dataset: tf.data.Dataset, source: EpisodeSource | None = None,
               policy_ids: Sequence[str] = ()):
    self._iterator = iter(dataset)
    self._ckpt = tf.train.Checkpoint(iterator=self._iterator)
    self._source, self._policy_ids = source, list(policy_ids)

  def __iter__(self) -> Iterator[dict]:
    return self

  def __next__(self) -> dict:
    try:
      batch = next(self._iterator)
    except tf.errors.OpError as e:
      for pid in self._policy_ids:
        self._source.check_policy(pid)  # raises, naming the file, for the bad one
      raise OfflineScalingError(
          f"reading the stream failed: {e.message.splitlines()[0]}") from None
    return {k: v.numpy() for k, v in batch.items()}

  def save(self, prefix: str) -> str:
    """Writes the position under `prefix` (a path prefix); returns the path written."""
    return self._ckpt.write(os.fspath(prefix))

  def restore(self, path: str) -> None:
    """Moves the stream to a position written by `save`."""
    self._ckpt.read(os.fspath(path)).assert_consumed()


def make_stream(source: EpisodeSource, policy_ids: Sequence[str],
                config: ml_collections.ConfigDict, **kwargs) -> Stream:
  """`build_dataset(...)` as a `Stream` (same arguments)."""
  host = kwargs.get("host", (0, 1))
  return Stream(build_dataset(source, policy_ids, config, **kwargs), source,
                host_policies(policy_ids, config.seed, host))
