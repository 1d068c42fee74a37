"""Episodes and episode shards (TFRecord, RLDS step layout).

A shard is a TFRecord file of `tf.train.Example`s, one per whole episode. An
episode of L transitions is stored as L + 1 RLDS steps. Observations take one
of two layouts, chosen by their dtype: float vectors of D values (PyBullet),
stored as float32, or uint8 frames of shape S (MinAtar, e.g. S = [10, 10, 4]),
stored as one string of raw bytes (one byte per value, not a float's four):

| feature                 | dtype   | shape        | meaning                                         |
|-------------------------|---------|--------------|-------------------------------------------------|
| steps/observation       | float32 | [(L+1)·D]    | float layout: o_0 … o_L, row-major              |
| steps/observation       | bytes   | [1]          | uint8 layout: o_0 … o_L, raw C-order [L+1, *S]  |
| steps/action            | int64   | [L+1]        | a_0 … a_{L-1}, then 0 (no action at the last step) |
| steps/reward            | float32 | [L+1]        | r_0 … r_{L-1} (reward after a_t), then 0        |
| steps/discount          | float32 | [L+1]        | 0 where a_t led to a terminal state, else 1     |
| steps/is_first          | int64   | [L+1]        | 1 at step 0                                     |
| steps/is_last           | int64   | [L+1]        | 1 at step L                                     |
| steps/is_terminal       | int64   | [L+1]        | 1 at step L if the episode terminated (not a time limit) |
| episode/obs_dim         | int64   | [1]          | float layout only: D                            |
| episode/obs_shape       | int64   | [len(S)]     | uint8 layout only: S (marks the layout)         |
| episode/length          | int64   | [1]          | L                                               |
| episode/return          | float32 | [1]          | Σ r_t (rewards as stored: raw, unclipped)       |
| episode/policy_id       | bytes   | [1]          | e.g. `hopper/seed_0/20000`, `seaquest/run_1/3`  |
| episode/env             | bytes   | [1]          | short env name                                  |
| episode/seed            | int64   | [1]          | the expert's training seed (MinAtar: DQN run)   |
| episode/checkpoint_step | int64   | [1]          | the expert's env steps at the checkpoint        |
| episode/index           | int64   | [1]          | the episode's number among its policy's         |

Shards are written to a temporary name and renamed when whole, so a reader
never takes a half-written file for a whole one.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator

import numpy as np
import tensorflow as tf
from etils import epath

from offline_scaling.errors import OfflineScalingError

TMP_SUFFIX = ".tmp"


@dataclasses.dataclass
class Episode:
  """One whole episode.

  Attributes:
    observations: [L + 1, *obs] o_0 … o_L: float32 [L + 1, D] for PyBullet,
      uint8 [L + 1, 10, 10, C] frames for MinAtar (the shards here store
      both, see the module docstring), uint8 [L + 1, 84, 84] frames for Atari.
    actions: [L] int64 action indices.
    rewards: [L] float32.
    terminated: whether o_L is terminal (False for a time-limit truncation).
    policy_id, env, seed, checkpoint_step, index: where it came from.
  """
  observations: np.ndarray
  actions: np.ndarray
  rewards: np.ndarray
  terminated: bool
  policy_id: str = ""
  env: str = ""
  seed: int = 0
  checkpoint_step: int = 0
  index: int = 0

  @property
  def length(self) -> int:
    """L, the number of transitions."""
    return int(self.actions.shape[0])

  @property
  def episode_return(self) -> float:
    """Undiscounted return Σ r_t, summed in float64."""
    return float(np.sum(self.rewards, dtype=np.float64))


def _floats(x):
  return tf.train.Feature(float_list=tf.train.FloatList(value=np.ravel(x)))


def _ints(x):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(x)))


def _bytes(s: str | bytes):
  return tf.train.Feature(bytes_list=tf.train.BytesList(
      value=[s.encode() if isinstance(s, str) else s]))


def _observation_features(observations: np.ndarray) -> dict:
  """`steps/observation` and its shape feature, in the layout of the array's dtype."""
  if observations.dtype == np.uint8:
    return {"steps/observation": _bytes(np.ascontiguousarray(observations).tobytes()),
            "episode/obs_shape": _ints(observations.shape[1:])}
  return {"steps/observation": _floats(observations.astype(np.float32)),
          "episode/obs_dim": _ints([observations.shape[1]])}


def to_example(ep: Episode) -> bytes:
  """Serialises an episode into the RLDS step layout above (uint8 observations
  in the uint8 layout, any other dtype as float32)."""
  L = ep.length
  if ep.observations.shape[0] != L + 1:
    raise OfflineScalingError(
        f"episode {ep.policy_id}#{ep.index}: {ep.observations.shape[0]} observations "
        f"for {L} actions (need L + 1)")
  pad = lambda x: np.concatenate([x, np.zeros(1, x.dtype)])
  discount = np.ones(L + 1, np.float32)
  if ep.terminated:
    discount[L - 1:] = 0.0
  flags = np.zeros((3, L + 1), np.int64)
  flags[0, 0] = 1
  flags[1, L] = 1
  flags[2, L] = int(ep.terminated)
  feature = {
      **_observation_features(ep.observations),
      "steps/action": _ints(pad(ep.actions.astype(np.int64))),
      "steps/reward": _floats(pad(ep.rewards.astype(np.float32))),
      "steps/discount": _floats(discount),
      "steps/is_first": _ints(flags[0]),
      "steps/is_last": _ints(flags[1]),
      "steps/is_terminal": _ints(flags[2]),
      "episode/length": _ints([L]),
      "episode/return": _floats([ep.episode_return]),
      "episode/policy_id": _bytes(ep.policy_id),
      "episode/env": _bytes(ep.env),
      "episode/seed": _ints([ep.seed]),
      "episode/checkpoint_step": _ints([ep.checkpoint_step]),
      "episode/index": _ints([ep.index]),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _feature(example: tf.train.Example, name: str, kind: str, path: str, record: int):
  feature = example.features.feature
  if name not in feature:
    raise OfflineScalingError(f"{path}: record {record} has no feature '{name}'")
  values = getattr(feature[name], kind).value
  if not len(values):
    raise OfflineScalingError(
        f"{path}: record {record} feature '{name}' is empty or not of type {kind}")
  return values


def from_example(data: bytes, path: str = "<bytes>", record: int = 0) -> Episode:
  """Parses one serialised episode of either layout (uint8 when it has
  `episode/obs_shape`); a missing or mistyped feature names the file."""
  try:
    example = tf.train.Example.FromString(data)
  except Exception as e:  # protobuf's DecodeError has no stable import path
    raise OfflineScalingError(f"{path}: record {record} is not a tf.train.Example ({e})")
  f = lambda name, kind: _feature(example, name, kind, path, record)
  L = f("episode/length", "int64_list")[0]
  if "episode/obs_shape" in example.features.feature:
    shape = (L + 1, *f("episode/obs_shape", "int64_list"))
    frames = f("steps/observation", "bytes_list")
    if len(frames) != 1 or len(frames[0]) != np.prod(shape):
      raise OfflineScalingError(
          f"{path}: record {record} feature 'steps/observation' has "
          f"{sum(map(len, frames))} bytes in {len(frames)} entries, expected one entry of "
          f"(length + 1) × prod(obs_shape) = {np.prod(shape)} bytes (uint8 {list(shape)})")
    obs = np.frombuffer(frames[0], np.uint8).reshape(shape)
  else:
    D = f("episode/obs_dim", "int64_list")[0]
    obs = np.asarray(f("steps/observation", "float_list"), np.float32)
    if obs.size != (L + 1) * D:
      raise OfflineScalingError(
          f"{path}: record {record} has {obs.size} observation values, expected "
          f"(length + 1) × obs_dim = {(L + 1) * D}")
    obs = obs.reshape(L + 1, D)
  actions = np.asarray(f("steps/action", "int64_list"), np.int64)
  rewards = np.asarray(f("steps/reward", "float_list"), np.float32)
  terminal = np.asarray(f("steps/is_terminal", "int64_list"))
  for name, arr in (("steps/action", actions), ("steps/reward", rewards),
                    ("steps/is_terminal", terminal)):
    if arr.shape[0] != L + 1:
      raise OfflineScalingError(
          f"{path}: record {record} feature '{name}' has {arr.shape[0]} steps, expected {L + 1}")
  return Episode(observations=obs, actions=actions[:L],
                 rewards=rewards[:L], terminated=bool(terminal[L]),
                 policy_id=f("episode/policy_id", "bytes_list")[0].decode(),
                 env=f("episode/env", "bytes_list")[0].decode(),
                 seed=int(f("episode/seed", "int64_list")[0]),
                 checkpoint_step=int(f("episode/checkpoint_step", "int64_list")[0]),
                 index=int(f("episode/index", "int64_list")[0]))


def write_shard(path: str | epath.Path, episodes: list[Episode]) -> epath.Path:
  """Writes episodes to `path` atomically (temporary name, then rename).

  Args:
    path: the shard's `.tfrecord` path (parent directories are created).
    episodes: the episodes, one record each, in this order.

  Returns:
    The path written.
  """
  path = epath.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.parent / (path.name + TMP_SUFFIX)
  with tf.io.TFRecordWriter(os.fspath(tmp)) as writer:
    for ep in episodes:
      writer.write(to_example(ep))
  tmp.replace(path)
  return path


def read_shard(path: str | epath.Path) -> Iterator[Episode]:
  """Yields the episodes of one shard in order.

  Raises:
    OfflineScalingError: naming the file (and record) when it is missing,
      truncated, corrupt or lacks a feature.
  """
  path = os.fspath(path)
  if not tf.io.gfile.exists(path):
    raise OfflineScalingError(f"episode shard '{path}' does not exist")
  record = 0
  try:
    for data in tf.data.TFRecordDataset(path).as_numpy_iterator():
      yield from_example(data, path, record)
      record += 1
  except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
    raise OfflineScalingError(
        f"episode shard '{path}' is truncated or corrupt after record {record}: "
        f"{e.message.splitlines()[0]}") from None
