"""RL Unplugged Atari through tfds: `rlu_atari_checkpoints_ordered/{Game}_run_{n}`.

For users who already prepared the tfds version of the raw files that
`rlu_atari` reads (one split `checkpoint_XX` per checkpoint, episodes in
order). tfds' conversion (`atari_utils.atari_example_to_rlds`) turns each raw
episode of N entries into N RLDS steps; the last step holds only the final
observation, and `discount` is already shifted to follow the action (see
`rlu_atari` for the evidence). Its `reward` is the raw `unclipped_rewards`
(which tfds notes are clipped in the public data) and `episode_return` the raw
`episode_return`. Returns here are clipped, as every Atari source's are
(`rlu_atari`: DQN Replay's unit), so they are summed from the clipped
rewards. The common dict of an episode of L = N - 1 transitions:

    observations   = steps/observation[..., 0]      # [L+1, 84, 84] uint8
    actions        = steps/action[:L]               # int32 [L]
    rewards        = clip(steps/reward[:L], -1, 1)  # float32 [L]
    discounts      = steps/discount[:L]             # float32 [L]
    episode_return = Σ rewards                      # float32 []

which is exactly what `rlu_atari` gives for the same raw files.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.data.rlu_atari import (NUM_RUNS, cached_policy_table, missing_run_error,
                                            record_of)
from offline_scaling.data.sources import (EpisodeRanges, find_policies, keep_episode_ranges,
                                          read_all)
from offline_scaling.envs.atari import atari_game_name
from offline_scaling.errors import OfflineScalingError

DATASET = "rlu_atari_checkpoints_ordered"


def dataset_name(game: str, run: int) -> str:
  """The tfds name of one run's dataset, e.g. `rlu_atari_checkpoints_ordered/Pong_run_1`."""
  return f"{DATASET}/{game}_run_{run}"


def split_name(checkpoint: int) -> str:
  """The tfds split of checkpoint N (0-based): `checkpoint_NN`.

  Examples:
    >>> split_name(7)
    'checkpoint_07'
  """
  return f"checkpoint_{checkpoint:02d}"


def rlds_to_episode(episode: dict, policy: tf.Tensor, episode_index: tf.Tensor) -> dict:
  """One tfds RLDS episode -> the common episode dict (module docstring).

  Args:
    episode: an element of `builder.as_dataset(...)`: scalars and a `steps` dataset.
    policy: its policy id (string scalar).
    episode_index: its position among the policy's episodes (int32 scalar).
  """
  steps = episode["steps"]  # a dataset of the episode's steps, each frame decoded from PNG
  steps = steps.batch(steps.cardinality()).get_single_element()
  length = tf.shape(steps["action"])[0] - 1
  rewards = tf.clip_by_value(steps["reward"][:length], -1.0, 1.0)
  return dict(observations=steps["observation"][..., 0],
              actions=tf.cast(steps["action"][:length], tf.int32),
              rewards=rewards,
              discounts=steps["discount"][:length],
              episode_return=tf.reduce_sum(rewards),
              policy_id=policy,
              episode_index=episode_index)


def clipped_return(steps: tf.data.Dataset) -> tf.Tensor:
  """Σ of an episode's step rewards clipped to [−1, 1] (its last step's reward
  is padding, 0); float32 []."""
  return steps.reduce(tf.constant(0.0), lambda total, s: total + tf.clip_by_value(
      s["reward"], -1.0, 1.0))


class TfdsAtariSource:
  """An `EpisodeSource` over prepared `rlu_atari_checkpoints_ordered` datasets.

  Args:
    data_dir: the tfds data directory the datasets were prepared in.
    game: the game, any case.
    runs: the DQN runs (1-based, as in the config names `Pong_run_1`).
    checkpoints: the checkpoints (splits) to use.
    cache_dir: where to cache policy tables when the dataset directory is not writable.
  """

  def __init__(self, data_dir: str | os.PathLike, game: str = "Pong",
               runs: Sequence[int] = tuple(range(1, NUM_RUNS + 1)),
               checkpoints: Sequence[int] = tuple(range(40)),
               cache_dir: str | os.PathLike | None = None):
    self.data_dir = os.fspath(data_dir)
    self.game = atari_game_name(game)
    self.runs = list(runs)
    self.checkpoints = list(checkpoints)
    self.cache_dir = None if cache_dir is None else epath.Path(cache_dir)
    self._policies: list[PolicyRecord] | None = None
    self._builders: dict[int, tfds.core.DatasetBuilder] = {}

  def builder(self, run: int) -> tfds.core.DatasetBuilder:
    """The prepared builder of one run.

    Raises:
      OfflineScalingError: when that dataset is not prepared under `data_dir`.
    """
    if run not in self._builders:
      name = dataset_name(self.game, run)
      builder = tfds.builder(name, data_dir=self.data_dir)
      if not builder.is_prepared():
        raise missing_run_error(
            run, f"tfds dataset '{name}' is not prepared under data_dir '{self.data_dir}'",
            lambda r: tfds.builder(dataset_name(self.game, r),
                                   data_dir=self.data_dir).is_prepared())
      self._builders[run] = builder
    return self._builders[run]

  def _run_table(self, run: int) -> list[PolicyRecord]:
    builder = self.builder(run)
    splits = {int(s.removeprefix("checkpoint_")): s for s in builder.info.splits}
    relative = f"{dataset_name(self.game, run)}/{builder.version}"

    def compute():
      records = []
      for checkpoint, split in sorted(splits.items()):
        # Frames stay PNG bytes: only returns and step counts are needed.
        ds = builder.as_dataset(split=split, shuffle_files=False,
                                decoders={"steps": {"observation": tfds.decode.SkipDecoding()}})
        ds = ds.map(lambda e: (clipped_return(e["steps"]), e["steps"].cardinality() - 1))
        summary = list(ds.as_numpy_iterator())
        if not summary:
          raise OfflineScalingError(f"split '{split}' of '{builder.data_path}' has no episodes")
        returns, lengths = (np.array(x) for x in zip(*summary))
        records.append(record_of(self.game, run, checkpoint, returns, lengths,
                                 f"{relative}/{DATASET}-{split}.*"))
      return records

    data_path = epath.Path(builder.data_path)
    files = sorted(os.fspath(f) for f in data_path.glob(f"{DATASET}-checkpoint_*"))
    caches = [data_path / "policy_table.json"]
    if self.cache_dir is not None:
      caches.append(self.cache_dir / f"{self.game}_run_{run}.policy_table.json")
    return cached_policy_table(caches, files, compute)

  def policies(self) -> list[PolicyRecord]:
    """One row per (run, checkpoint) asked for that the datasets hold, by run then checkpoint."""
    if self._policies is None:
      wanted = set(self.checkpoints)
      self._policies = [r for run in self.runs for r in self._run_table(run)
                        if r.checkpoint_step in wanted]
    return list(self._policies)

  def episodes(self, policy_ids: Sequence[str],
               episode_ranges: EpisodeRanges | None = None) -> tf.data.Dataset:
    """The episodes of `policy_ids`, one split after the other, each in its stored order."""
    records = find_policies(self.policies(), policy_ids,
                            f"{self.game} runs {self.runs} in '{self.data_dir}'")
    parts = []
    for pid, record in zip(policy_ids, records):
      ds = self.builder(record.seed).as_dataset(split=split_name(record.checkpoint_step),
                                                shuffle_files=False)
      parts.append(ds.enumerate().map(
          lambda i, e, pid=pid: dict(episode=e, policy_id=pid,
                                     episode_index=tf.cast(i, tf.int32))))
    # Ranges are applied before the steps (and their frames) are decoded.
    ds = keep_episode_ranges(functools.reduce(tf.data.Dataset.concatenate, parts),
                             episode_ranges)
    return ds.map(lambda r: rlds_to_episode(r["episode"], r["policy_id"], r["episode_index"]),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  def check_policy(self, policy_id: str) -> None:
    """Reads (and decodes) the policy's whole split."""
    read_all(self, policy_id, f"tfds dataset in '{self.data_dir}'")
