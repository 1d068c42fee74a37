"""Episode sources: where a study's logged experience comes from.

Every source (our PyBullet shards; RL Unplugged Atari raw files, its tfds
version, Dopamine replay logs; our MinAtar DQN replay shards) gives the same
two things upward:

* `policies()`: the policy table, a list of `PolicyRecord` (value = mean
  undiscounted return of the policy's episodes);
* `episodes(policy_ids, episode_ranges=None)`: a `tf.data.Dataset` of whole
  episodes of those policies, in the given policy order, each a dict

  | key            | dtype   | shape                 |                                           |
  |----------------|---------|-----------------------|-------------------------------------------|
  | observations   | float32 / uint8 | [L + 1, *obs_shape] | o_0 … o_L (Atari: 84×84, MinAtar: 10×10×C frames) |
  | actions        | int32   | [L]                   | a_t                                       |
  | rewards        | float32 | [L]                   | r_t after a_t (Atari, MinAtar: clipped to [−1, 1]) |
  | discounts      | float32 | [L]                   | 0 where a_t led to a terminal state, else 1 |
  | episode_return | float32 | []                    | undiscounted Σ r_t of the rewards above   |
  | policy_id      | string  | []                    |                                           |
  | episode_index  | int32   | []                    | the episode's number among its policy's   |

  `episode_ranges` optionally maps a policy id to a half-open range
  [start, stop) of episode indices to keep (Atari takes the middle of each
  checkpoint's episodes).
* optionally `episodes_in_order(policy_ids, order, starts, repeat)`: the
  episodes in the order of a dataset of policy indices, each policy's records
  rotated to start at `starts[i]` (`rotated`), parsed once after the
  interleave — the streams' cheap path to the mixture of many policies
  (`PybulletSource` and its subclass `minatar_replay.MinatarReplaySource`;
  the others are mixed from per-policy `episodes`);
* `check_policy(policy_id)`: reads that policy's data in full and raises
  `OfflineScalingError` naming the file (and record, field) if it is bad;
  streams call it to explain a read error raised deep inside tf.data.

Every source keeps each policy's episodes in files (or a split) of its own, so
hosts that read disjoint sets of policies read disjoint files.
"""

from __future__ import annotations

import os
from typing import Mapping, Protocol, Sequence

import tensorflow as tf
from etils import epath

from offline_scaling.data import episodes as episodes_lib
from offline_scaling.data import policy_table as policy_table_lib
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.errors import OfflineScalingError

EpisodeRanges = Mapping[str, tuple[int, int]]


class EpisodeSource(Protocol):
  """What every source provides (see the module docstring)."""

  def policies(self) -> list[PolicyRecord]:
    """The policy table: one row per policy (value = mean return of its episodes)."""
    ...

  def episodes(self, policy_ids: Sequence[str],
               episode_ranges: EpisodeRanges | None = None) -> tf.data.Dataset:
    """Whole episodes of `policy_ids` (in that order), as dicts of the module's table.

    Args:
      policy_ids: ids from `policies()`.
      episode_ranges: optional policy id -> [start, stop) episode indices to keep.
    """
    ...

  def check_policy(self, policy_id: str) -> None:
    """Reads the policy's data in full; raises `OfflineScalingError` naming the bad
    file (and record, field)."""
    ...


def rotated(ds: tf.data.Dataset, start: int, repeat: bool) -> tf.data.Dataset:
  """`ds` read from its `start`-th element round to its beginning (once, or
  round and round with `repeat`)."""
  ds = ds.skip(start).concatenate(ds.take(start))
  return ds.repeat() if repeat else ds


def keep_episode_ranges(ds: tf.data.Dataset, episode_ranges: EpisodeRanges | None
                        ) -> tf.data.Dataset:
  """Keeps only episodes whose index lies in their policy's range (all when None)."""
  if not episode_ranges:
    return ds
  ids = tf.constant(list(episode_ranges))
  bounds = tf.constant([list(r) for r in episode_ranges.values()], tf.int32)
  table = tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(ids, tf.range(len(ids), dtype=tf.int32)), -1)

  def keep(ep):
    i = table.lookup(ep["policy_id"])
    start, stop = bounds[tf.maximum(i, 0)][0], bounds[tf.maximum(i, 0)][1]
    return (i < 0) | ((ep["episode_index"] >= start) & (ep["episode_index"] < stop))

  return ds.filter(keep)


def find_policies(records: Sequence[PolicyRecord], policy_ids: Sequence[str],
                  where: str) -> list[PolicyRecord]:
  """The records of `policy_ids`, in that order; one error naming every unknown id."""
  by_id = {r.policy_id: r for r in records}
  missing = [pid for pid in policy_ids if pid not in by_id]
  if missing:
    raise OfflineScalingError(
        f"policies {missing} are not among the {len(by_id)} policies of {where}")
  return [by_id[pid] for pid in policy_ids]


def read_all(source: EpisodeSource, policy_id: str, where: str) -> None:
  """Reads every episode of one policy; a tf.data error becomes one message naming
  `where` and the record (the policy's episodes in stored order) that failed."""
  record = 0
  try:
    for _ in source.episodes([policy_id]):
      record += 1
  except tf.errors.OpError as e:
    # tf.data prefixes the op's own message with where in the graph it ran.
    reason = e.message.splitlines()[0].split("Iterator::")[-1].split(": ", 1)[-1]
    raise OfflineScalingError(
        f"{where} (policy '{policy_id}'): record {record} cannot be read: {reason}") from None


_PYBULLET_FEATURES = {
    "steps/observation": tf.io.RaggedFeature(tf.float32),
    "steps/action": tf.io.RaggedFeature(tf.int64),
    "steps/reward": tf.io.RaggedFeature(tf.float32),
    "steps/discount": tf.io.RaggedFeature(tf.float32),
    "episode/obs_dim": tf.io.FixedLenFeature([], tf.int64),
    "episode/length": tf.io.FixedLenFeature([], tf.int64),
    "episode/return": tf.io.FixedLenFeature([], tf.float32),
    "episode/policy_id": tf.io.FixedLenFeature([], tf.string),
    "episode/index": tf.io.FixedLenFeature([], tf.int64),
}


def parse_pybullet_episode(serialized: tf.Tensor) -> dict:
  """One serialised PyBullet episode (see `episodes.py`) -> the common episode dict."""
  f = tf.io.parse_single_example(serialized, _PYBULLET_FEATURES)
  length = tf.cast(f["episode/length"], tf.int32)
  # A missing or cut step feature leaves a shorter field, which the stream's
  # episode check (`pipeline.episode_problem`) reports or skips.
  return dict(
      observations=tf.reshape(f["steps/observation"],
                              [length + 1, tf.cast(f["episode/obs_dim"], tf.int32)]),
      actions=tf.cast(f["steps/action"][:length], tf.int32),
      rewards=f["steps/reward"][:length],
      discounts=f["steps/discount"][:length],
      episode_return=f["episode/return"],
      policy_id=f["episode/policy_id"],
      episode_index=tf.cast(f["episode/index"], tf.int32))


# Read buffer per open shard (bytes): a mixture holds every selected policy's
# shard open in every seed's stream (TFRecord's default is 256 KiB).
RECORD_BUFFER = 64 * 1024


class PybulletSource:
  """Episode shards and policy table written by `experiments.pybullet_collect`.

  Args:
    root: the collection's output directory (holding `policy_table.json`).

  Attributes:
    parse: serialised episode -> the common episode dict; a subclass reading
      another layout of the same shards and table overrides it.
  """

  parse = staticmethod(parse_pybullet_episode)

  def __init__(self, root: str | epath.Path):
    self.root = epath.Path(root)
    self._policies = policy_table_lib.read_policy_table(self.root)
    self._by_id = {p.policy_id: p for p in self._policies}

  def policies(self) -> list[PolicyRecord]:
    """The rows of `policy_table.json`."""
    return list(self._policies)

  def files(self, policy_ids: Sequence[str]) -> list[str]:
    """The shard of each policy, in the given order; checks that each exists."""
    files = []
    for pid in policy_ids:
      if pid not in self._by_id:
        raise OfflineScalingError(f"policy '{pid}' is not in the policy table of '{self.root}'")
      path = self.root / self._by_id[pid].shard
      if not path.exists():
        raise OfflineScalingError(
            f"policy table of '{self.root}' lists shard '{path}' for policy '{pid}', "
            "but the file does not exist")
      files.append(os.fspath(path))
    return files

  def _bounds(self, policy_ids: Sequence[str], episode_ranges: EpisodeRanges | None
              ) -> tuple[list[int], list[int]]:
    """Each policy's first record and record count (-1: all) of its episode
    range. A shard holds its policy's episodes in index order (record i is
    episode i), so a range is a skip and a take: nothing outside it is read."""
    if not episode_ranges:
      return [0] * len(policy_ids), [-1] * len(policy_ids)
    bounds = [episode_ranges[pid] for pid in policy_ids]
    return [a for a, _ in bounds], [b - a for a, b in bounds]

  def episodes(self, policy_ids: Sequence[str],
               episode_ranges: EpisodeRanges | None = None,
               cycle_length: int = 8) -> tf.data.Dataset:
    """Episodes of `policy_ids` (each cut to its range), read with a parallel
    interleave over their shards."""
    skips, takes = self._bounds(policy_ids, episode_ranges)
    ds = tf.data.Dataset.from_tensor_slices(
        (self.files(policy_ids), tf.constant(skips, tf.int64), tf.constant(takes, tf.int64)))
    ds = ds.interleave(
        lambda f, a, n: tf.data.TFRecordDataset(f, buffer_size=RECORD_BUFFER).skip(a).take(n),
        cycle_length=cycle_length, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.map(self.parse, num_parallel_calls=tf.data.AUTOTUNE)

  def episodes_in_order(self, policy_ids: Sequence[str], order: tf.data.Dataset,
                        starts: Sequence[int], repeat: bool,
                        episode_ranges: EpisodeRanges | None = None) -> tf.data.Dataset:
    """Episodes of `policy_ids`, the next one always from policy `order`'s next
    element (an int64 index into `policy_ids`), each policy's shard (cut to
    its episode range) read from its `starts[i]`-th record (`rotated`; round
    and round with `repeat`). The records are interleaved raw and parsed
    once, so a mixture of many policies costs one parser, not one per policy."""
    records = [tf.data.TFRecordDataset(f, buffer_size=RECORD_BUFFER)
               for f in self.files(policy_ids)]
    if episode_ranges:   # (a stream saved without ranges restores into the same graph)
      records = [ds.skip(a).take(n)
                 for ds, a, n in zip(records, *self._bounds(policy_ids, episode_ranges))]
    records = [rotated(ds, k, repeat) for ds, k in zip(records, starts)]
    return tf.data.Dataset.choose_from_datasets(records, order).map(
        self.parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def check_policy(self, policy_id: str) -> None:
    """Reads the policy's shard in full (`read_shard` names a bad file and record)."""
    for _ in episodes_lib.read_shard(self.files([policy_id])[0]):
      pass
