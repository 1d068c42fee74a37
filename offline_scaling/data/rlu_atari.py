"""RL Unplugged Atari (the DQN Replay data), read straight from its raw files.

Files are `{prefix}/{Game}/run_{n}-{shard:05d}-of-{num_shards:05d}`: GZIP
TFRecords of `tf.train.Example`s, one per episode, in the order played. File i
holds checkpoint i (what the tfds builder `rlu_atari_checkpoints_ordered`
relies on: one split per file); each checkpoint, about 1M agent steps of one
DQN run, is one policy. The features (the spec in tfds' `atari_utils`):

| feature                | type   | shape | meaning                                     |
|------------------------|--------|-------|---------------------------------------------|
| checkpoint_idx         | int64  | []    | the checkpoint that played the episode      |
| episode_idx            | int64  | []    | the episode's number                        |
| episode_return         | float  | []    | Σ unclipped_rewards                         |
| clipped_episode_return | float  | []    | Σ clipped_rewards                           |
| observations           | bytes  | [N]   | PNG-encoded uint8 84×84×1 frames            |
| actions                | int64  | [N]   | index into the game's minimal action set    |
| unclipped_rewards      | float  | [N]   |                                             |
| clipped_rewards        | float  | [N]   | clipped to [-1, 1]                          |
| discounts              | float  | [N]   |                                             |

**Alignment.** The N entries are N RLDS steps: step t holds observation o_t,
the action a_t taken at it and the reward r_t that followed; the last step
holds only the final observation o_{N-1} (its action and rewards are padding),
and `discounts[t]` belongs to *arriving* at o_t, so `discounts[N-1] == 0`
exactly when the episode ended in a terminal state. Evidence: tfds'
`atari_utils.atari_example_to_rlds`, the conversion behind every
`rlu_atari*` dataset, keeps observations, actions and rewards as N steps
unchanged with `is_last` on step N-1, and when `discounts[-1] == 0` marks that
step `is_terminal` and shifts the discounts one step earlier
(`discounts[1:] + [0]`), noting that "in the last step only the observation
has valid information (the terminal state)". The SARSA version of the same
data (`rl_unplugged/atari.py`) documents "r_t: reward after a_t, d_t: discount
after a_t". Reading it this way, this reader and `tfds_atari` give the same
episodes. The common dict (see `sources.py`) of an episode of L = N - 1
transitions is then

    observations   = png_decode(observations)   # [L+1, 84, 84] uint8, o_0 … o_L
    actions        = actions[:L]                # int32 [L]
    rewards        = clipped_rewards[:L]        # float32 [L]
    discounts      = discounts[1:]              # float32 [L], 0 where a_t ended the game
    episode_return = clipped_episode_return     # float32 []

**Rewards.** DQN Replay was logged by Dopamine, which keeps only clipped
rewards; tfds notes that in the public files "rewards and episode_return are
actually also clipped". So every Atari source's returns are *clipped* (Σ of
rewards clipped to [−1, 1]): this reader takes `clipped_episode_return` for
the episodes' returns (RCI's G) and the policies' values, also on files from
`experiments.atari_generate`, whose `episode_return` is the game score.
Evaluation reports both units (`evaluation.evaluate_seeds(clipped=True)`),
and a return is compared with a value in the clipped one.

The policy table (policy_id `Pong/run_1/ckpt_3`, env = game, seed = run,
checkpoint_step = checkpoint_idx, value = mean `episode_return`, shard = the
file relative to the prefix) comes from one pass that parses every record
without decoding frames, which also checks every file (truncated, corrupt,
missing or mistyped features). It is cached per run as
`{Game}/run_{n}.policy_table.json` next to the files when that directory is
writable, else under `cache_dir`, and recomputed when the files change.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
from typing import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf
from etils import epath

from offline_scaling.data import policy_table as policy_table_lib
from offline_scaling.data.episodes import TMP_SUFFIX, Episode
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.data.sources import (EpisodeRanges, find_policies, keep_episode_ranges,
                                          read_all)
from offline_scaling.envs.atari import SCREEN_SIZE, atari_game_name
from offline_scaling.errors import OfflineScalingError

DEFAULT_PREFIX = "gs://rl_unplugged/atari_episodes_ordered"
COMPRESSION = "GZIP"
NUM_RUNS = 5
# 2: values are mean clipped returns (1 took `episode_return`, the game score on
# generated files); a cached table of another version is computed again.
TABLE_VERSION = 2

_SEQUENCE = dict(shape=[], allow_missing=True)
FEATURES = {
    "checkpoint_idx": tf.io.FixedLenFeature([], tf.int64),
    "episode_idx": tf.io.FixedLenFeature([], tf.int64),
    "episode_return": tf.io.FixedLenFeature([], tf.float32),
    "clipped_episode_return": tf.io.FixedLenFeature([], tf.float32),
    "observations": tf.io.FixedLenSequenceFeature(dtype=tf.string, **_SEQUENCE),
    "actions": tf.io.FixedLenSequenceFeature(dtype=tf.int64, **_SEQUENCE),
    "unclipped_rewards": tf.io.FixedLenSequenceFeature(dtype=tf.float32, **_SEQUENCE),
    "clipped_rewards": tf.io.FixedLenSequenceFeature(dtype=tf.float32, **_SEQUENCE),
    "discounts": tf.io.FixedLenSequenceFeature(dtype=tf.float32, **_SEQUENCE),
}
_SEQUENCES = [k for k, v in FEATURES.items() if isinstance(v, tf.io.FixedLenSequenceFeature)]


def policy_id(game: str, run: int, checkpoint: int) -> str:
  """The id of one checkpoint of one DQN run, e.g. `Pong/run_1/ckpt_3`."""
  return f"{game}/run_{run}/ckpt_{checkpoint}"


def file_name(game: str, run: int, shard: int, num_shards: int) -> str:
  """A raw file's path relative to the prefix: `Pong/run_1-00003-of-00050`."""
  return f"{game}/run_{run}-{shard:05d}-of-{num_shards:05d}"


def missing_run_error(run: int, what: str, has_run: Callable[[int], bool]) -> OfflineScalingError:
  """The error for a DQN run with no data, naming the `--runs` that reads the runs there are.

  Args:
    run: the run asked for.
    what: what was not found, e.g. "no Dopamine replay logs in '...'".
    has_run: whether the data hold run r (asked for the other runs 1..NUM_RUNS).
  """
  present = [r for r in range(1, NUM_RUNS + 1) if r != run and has_run(r)]
  hint = (f"pass --runs={','.join(map(str, present))} to read only the runs you have"
          if present else "no other run is there either: check --data_dir and --game")
  return OfflineScalingError(f"run {run} is missing ({what}): {hint}")


def _glob_run(prefix: str, game: str, run: int) -> tuple[str, list[str]]:
  """The pattern of one run's raw files and the files it matches, in shard order."""
  pattern = os.path.join(prefix, game, f"run_{run}-*-of-*")
  return pattern, sorted(f for f in tf.io.gfile.glob(pattern) if not f.endswith(TMP_SUFFIX))


def run_files(prefix: str, game: str, run: int) -> list[str]:
  """The raw files of one run, in shard order (a downloaded subset is fine).

  Raises:
    OfflineScalingError: when there are none, naming the runs that are there.
  """
  pattern, files = _glob_run(prefix, game, run)
  if not files:
    raise missing_run_error(run, f"no RL Unplugged Atari files match '{pattern}'",
                            lambda r: bool(_glob_run(prefix, game, r)[1]))
  return files


def _decode_frames(pngs: tf.Tensor) -> tf.Tensor:
  """[N] PNG strings -> uint8 [N, 84, 84]."""
  frames = tf.map_fn(lambda png: tf.io.decode_png(png, channels=1), pngs,
                     fn_output_signature=tf.TensorSpec([None, None, 1], tf.uint8))
  return tf.ensure_shape(frames[..., 0], [None, SCREEN_SIZE, SCREEN_SIZE])


def parse_episode(serialized: tf.Tensor, policy: tf.Tensor, episode_index: tf.Tensor) -> dict:
  """One raw episode -> the common episode dict (alignment in the module docstring).

  Args:
    serialized: a serialised `tf.train.Example` of N steps.
    policy: its policy id (string scalar).
    episode_index: its position among the policy's episodes (int32 scalar).
  """
  f = tf.io.parse_single_example(serialized, FEATURES)
  length = tf.size(f["actions"]) - 1
  return dict(observations=_decode_frames(f["observations"]),
              actions=tf.cast(f["actions"][:length], tf.int32),
              rewards=f["clipped_rewards"][:length],
              discounts=f["discounts"][1:],
              episode_return=f["clipped_episode_return"],
              policy_id=policy,
              episode_index=episode_index)


def _parse_summary(serialized: tf.Tensor) -> dict:
  """What the policy-table pass needs of a record: scalars and sequence lengths, no frames."""
  f = tf.io.parse_single_example(serialized, FEATURES)
  out = {k: f[k] for k in ("checkpoint_idx", "clipped_episode_return")}
  out.update({f"len/{k}": tf.size(f[k]) for k in _SEQUENCES})
  return out


@dataclasses.dataclass
class FileSummary:
  """The episodes of one raw file: its checkpoint, and per episode its return and length L."""
  checkpoint: int
  returns: np.ndarray
  lengths: np.ndarray


def summarize_file(path: str) -> FileSummary:
  """Reads every record of one raw file (no frame decoding) and checks it.

  Raises:
    OfflineScalingError: naming the file (and record) when it is missing,
      truncated, corrupt, holds no episode or several checkpoints, or a record
      lacks a feature, has one of the wrong type, or sequences of unequal length.
  """
  if not tf.io.gfile.exists(path):
    raise OfflineScalingError(f"RL Unplugged Atari file '{path}' does not exist")
  ds = tf.data.TFRecordDataset(path, compression_type=COMPRESSION)
  ds = ds.map(_parse_summary, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  checkpoints, returns, lengths = set(), [], []
  record = 0
  try:
    for s in ds.prefetch(64).as_numpy_iterator():
      sizes = {k: int(s[f"len/{k}"]) for k in _SEQUENCES}
      if len(set(sizes.values())) > 1 or sizes["actions"] < 2:
        raise OfflineScalingError(
            f"'{path}': record {record} has sequence features of lengths {sizes}; "
            "each needs the same length >= 2 (a missing feature has length 0)")
      checkpoints.add(int(s["checkpoint_idx"]))
      returns.append(float(s["clipped_episode_return"]))
      lengths.append(sizes["actions"] - 1)
      record += 1
  except tf.errors.DataLossError as e:
    raise OfflineScalingError(f"'{path}' is truncated or corrupt after record {record}: "
                              f"{e.message.splitlines()[0]}") from None
  except tf.errors.InvalidArgumentError as e:
    raise OfflineScalingError(f"'{path}': record {record} does not match the RL Unplugged "
                              f"Atari spec: {e.message.splitlines()[0]}") from None
  if len(checkpoints) != 1:
    raise OfflineScalingError(
        f"'{path}' holds episodes of checkpoints {sorted(checkpoints)}; expected exactly one")
  return FileSummary(checkpoints.pop(), np.array(returns), np.array(lengths))


def record_of(game: str, run: int, checkpoint: int, returns: np.ndarray, lengths: np.ndarray,
              shard: str) -> PolicyRecord:
  """The policy-table row of one checkpoint from its episode returns and lengths.

  Args:
    game: the canonical game name.
    run: the DQN run (1-based).
    checkpoint: the checkpoint index.
    returns: [n] episode returns (clipped, as DQN Replay's).
    lengths: [n] episode lengths in transitions.
    shard: where the episodes are, relative to the source's root.
  """
  returns = np.asarray(returns, np.float64)
  return PolicyRecord(policy_id=policy_id(game, run, checkpoint), env=game, seed=run,
                      checkpoint_step=checkpoint, value=float(np.mean(returns)),
                      std=float(np.std(returns)), num_episodes=len(returns),
                      num_steps=int(np.sum(lengths)), shard=shard)


def cached_policy_table(cache_paths: Sequence[epath.Path], files: Iterable[str],
                        compute: Callable[[], list[PolicyRecord]]) -> list[PolicyRecord]:
  """The policy table from the first valid cache, else computed and cached where writable.

  A cache is valid when it lists the same files with the same sizes and is of
  this `TABLE_VERSION`.

  Args:
    cache_paths: candidate JSON paths, most preferred first.
    files: the data files the table is computed from (their sizes key the cache).
    compute: builds the table (the expensive pass).
  """
  fingerprint = {os.path.basename(f): tf.io.gfile.stat(f).length for f in files}
  for path in cache_paths:
    if path.exists():
      try:
        cached = json.loads(path.read_text())
        stale = cached.get("files") != fingerprint or cached.get("version") != TABLE_VERSION
      except (json.JSONDecodeError, AttributeError):
        stale = True
      if not stale:
        return policy_table_lib.read_policy_table(path)
  records = compute()
  rows = [dataclasses.asdict(r) for r in records]
  for path in cache_paths:
    try:
      policy_table_lib.write_json_atomic(
          path, {"version": TABLE_VERSION, "policies": rows, "files": fingerprint})
      break
    except (OSError, tf.errors.OpError):  # not writable (e.g. the public bucket): try the next
      continue
  return records


class RLUAtariSource:
  """An `EpisodeSource` over RL Unplugged Atari raw files (module docstring).

  Args:
    prefix: the directory holding `{Game}/run_{n}-*` files (local or gs://).
    game: the game, any case ('pong', 'Pong').
    runs: the DQN runs to use (1-based, as in the file names).
    checkpoints: the checkpoints to use (the paper: the first 40).
    cache_dir: where to cache policy tables when the data directory is not writable.
    cycle_length: files read in parallel by `episodes`.
    scan_workers: files read in parallel by the policy-table pass.
  """

  def __init__(self, prefix: str | os.PathLike = DEFAULT_PREFIX, game: str = "Pong",
               runs: Sequence[int] = tuple(range(1, NUM_RUNS + 1)),
               checkpoints: Sequence[int] = tuple(range(40)),
               cache_dir: str | os.PathLike | None = None,
               cycle_length: int = 8, scan_workers: int = 4):
    self.prefix = os.fspath(prefix)
    self.game = atari_game_name(game)
    self.runs = list(runs)
    self.checkpoints = set(checkpoints)
    self.cache_dir = None if cache_dir is None else epath.Path(cache_dir)
    self.cycle_length = cycle_length
    self.scan_workers = scan_workers
    self._policies: list[PolicyRecord] | None = None

  def _run_table(self, run: int) -> list[PolicyRecord]:
    files = run_files(self.prefix, self.game, run)

    def compute():
      with concurrent.futures.ThreadPoolExecutor(self.scan_workers) as pool:
        summaries = list(pool.map(summarize_file, files))
      seen = {}
      for path, s in zip(files, summaries):
        if s.checkpoint in seen:
          raise OfflineScalingError(
              f"checkpoint {s.checkpoint} of run {run} is in both '{seen[s.checkpoint]}' "
              f"and '{path}'; expected one file per checkpoint")
        seen[s.checkpoint] = path
      return [record_of(self.game, run, s.checkpoint, s.returns, s.lengths,
                        f"{self.game}/{os.path.basename(path)}")
              for path, s in zip(files, summaries)]

    name = f"{self.game}/run_{run}.policy_table.json"
    caches = [epath.Path(self.prefix) / name]
    if self.cache_dir is not None:
      caches.append(self.cache_dir / name)
    return cached_policy_table(caches, files, compute)

  def policies(self) -> list[PolicyRecord]:
    """One row per (run, checkpoint) asked for that the files hold, by run then checkpoint."""
    if self._policies is None:
      rows = [r for run in self.runs for r in self._run_table(run)]
      self._policies = sorted((r for r in rows if r.checkpoint_step in self.checkpoints),
                              key=lambda r: (r.seed, r.checkpoint_step))
    return list(self._policies)

  def files(self, policy_ids: Sequence[str]) -> list[str]:
    """The raw file of each policy, in the given order."""
    records = find_policies(self.policies(), policy_ids,
                            f"{self.game} runs {self.runs} under '{self.prefix}'")
    return [os.path.join(self.prefix, r.shard) for r in records]

  def episodes(self, policy_ids: Sequence[str],
               episode_ranges: EpisodeRanges | None = None) -> tf.data.Dataset:
    """The episodes of `policy_ids` as common episode dicts, in file order per policy.

    Files are read by a parallel interleave; episodes outside `episode_ranges`
    are dropped before their frames are decoded.
    """
    files = tf.data.Dataset.from_tensor_slices((self.files(policy_ids), list(policy_ids)))

    def records(path, policy):
      ds = tf.data.TFRecordDataset(path, compression_type=COMPRESSION).enumerate()
      return ds.map(lambda i, rec: dict(serialized=rec, policy_id=policy,
                                        episode_index=tf.cast(i, tf.int32)))

    ds = files.interleave(records, cycle_length=self.cycle_length,
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = keep_episode_ranges(ds, episode_ranges)
    return ds.map(lambda r: parse_episode(r["serialized"], r["policy_id"], r["episode_index"]),
                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


  def check_policy(self, policy_id: str) -> None:
    """Checks the policy's file record by record, then decodes all its frames."""
    (path,) = self.files([policy_id])
    summarize_file(path)
    read_all(self, policy_id, path)


def _floats(x) -> tf.train.Feature:
  return tf.train.Feature(float_list=tf.train.FloatList(value=np.ravel(x)))


def _ints(x) -> tf.train.Feature:
  return tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(x)))


@tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.uint8)])
def _encode_frames(frames):
  return tf.map_fn(lambda f: tf.io.encode_png(f[..., None]), frames,
                   fn_output_signature=tf.string)


def to_example(ep: Episode) -> bytes:
  """Serialises an episode in the raw RL Unplugged Atari format (module docstring).

  Args:
    ep: observations uint8 [L+1, 84, 84], actions [L], rewards [L] *unclipped*,
      `terminated`, `checkpoint_step` (-> checkpoint_idx) and `index` (-> episode_idx).
  """
  L = ep.length
  if ep.observations.shape != (L + 1, SCREEN_SIZE, SCREEN_SIZE):
    raise OfflineScalingError(
        f"episode {ep.policy_id}#{ep.index}: observations of shape {ep.observations.shape}, "
        f"expected {(L + 1, SCREEN_SIZE, SCREEN_SIZE)} for {L} actions")
  pad = lambda x: np.concatenate([x, np.zeros(1, x.dtype)])  # the last step's padding
  rewards = pad(ep.rewards.astype(np.float32))
  clipped = np.clip(rewards, -1.0, 1.0)
  discounts = np.ones(L + 1, np.float32)
  discounts[L] = 0.0 if ep.terminated else 1.0
  feature = {
      "checkpoint_idx": _ints([ep.checkpoint_step]),
      "episode_idx": _ints([ep.index]),
      "episode_return": _floats([rewards.sum(dtype=np.float64)]),
      "clipped_episode_return": _floats([clipped.sum(dtype=np.float64)]),
      "observations": tf.train.Feature(bytes_list=tf.train.BytesList(
          value=_encode_frames(ep.observations.astype(np.uint8)).numpy().tolist())),
      "actions": _ints(pad(ep.actions.astype(np.int64))),
      "unclipped_rewards": _floats(rewards),
      "clipped_rewards": _floats(clipped),
      "discounts": _floats(discounts),
  }
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_file(path: str | os.PathLike, episodes: Sequence[Episode]) -> str:
  """Writes one checkpoint's episodes as a raw file, atomically (temporary name, then rename)."""
  path = os.fspath(path)
  tf.io.gfile.makedirs(os.path.dirname(path))
  tmp = path + TMP_SUFFIX
  with tf.io.TFRecordWriter(tmp, options=COMPRESSION) as writer:
    for ep in episodes:
      writer.write(to_example(ep))
  tf.io.gfile.rename(tmp, path, overwrite=True)
  return path
