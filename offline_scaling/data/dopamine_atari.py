"""DQN Replay logs: Dopamine's replay-buffer checkpoints, through dopamine-rl's own loader.

Layout: `{root}/{Game}/{run}/replay_logs/` holds, per checkpoint N (about 1M
agent steps of one DQN run, one policy), `$store$_{observation,action,reward,
terminal}_ckpt.{N}.gz` and the buffer's `add_count_ckpt.{N}.gz`,
`invalid_range_ckpt.{N}.gz` (and, from Dopamine 4, `episode_end_indices_ckpt.{N}.gz`),
as `OutOfGraphReplayBuffer.save` writes them. Needs the `[dopamine]` extra
(dopamine-rl >= 4.1), imported only when used.

**Alignment** (Dopamine's `OutOfGraphReplayBuffer`, stack size 4): entry i is
(o_t, a_t, r_t, terminal_t) with a_t taken at o_t, r_t the *clipped* reward
that followed (Dopamine's runner clips before storing, so the logs hold no
unclipped reward) and terminal_t = 1 when a_t ended the game. The final
observation o_L is never stored. Before each episode the buffer writes
stack_size - 1 = 3 all-zero padding entries. Entries sit in a circular array
of `replay_capacity`; `add_count` says how many were ever added, so the oldest
is at `add_count % capacity` once it wrapped.

An episode is the entries after one episode end (a terminal, or a listed
episode end) and its padding, up to the next end. Dropped: the first one when
the buffer wrapped (its start was overwritten) and any unfinished one at the
end. In the common dict (see `sources.py`):

* ended by a terminal: all L transitions; o_L is an all-zero frame, the
  padding frame Dopamine itself stacks as the next state of the terminal
  transition (its value is never bootstrapped: discount 0);
* ended without a terminal (the 27,000-step cap): the last transition has no
  next observation, so it is dropped (Dopamine never samples it either).

`episode_return` is the sum of all the episode's stored (clipped) rewards, so a
policy's value here is its mean clipped return. Old logs (DQN Replay) record no
end for a capped episode: it runs on into the next one, as it does for Dopamine.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zlib
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf
from etils import epath

from offline_scaling.data.episodes import TMP_SUFFIX, Episode
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.data.rlu_atari import (NUM_RUNS, cached_policy_table, missing_run_error,
                                            policy_id, record_of)
from offline_scaling.data.sources import (EpisodeRanges, find_policies, keep_episode_ranges,
                                          read_all)
from offline_scaling.envs.atari import SCREEN_SIZE, atari_game_name
from offline_scaling.errors import OfflineScalingError

STACK_SIZE = 4
STORE_PREFIX = "$store$_"
# Saving checkpoint N makes Dopamine delete checkpoint N - checkpoint_duration: never.
_KEEP_ALL = 2 ** 62


def _replay_buffer_module():
  """dopamine-rl's circular replay buffer module.

  Raises:
    OfflineScalingError: when dopamine-rl is not installed.
  """
  try:
    from dopamine.tf.replay_memory import circular_replay_buffer
  except ImportError:
    raise OfflineScalingError(
        "Dopamine replay logs need dopamine-rl>=4.1: pip install 'offline_scaling[dopamine]'"
    ) from None
  return circular_replay_buffer


def _make_buffer(capacity: int, with_observations: bool = True):
  """An `OutOfGraphReplayBuffer` of 84×84 frames (or, loading, of only the small arrays)."""
  crb = _replay_buffer_module()

  class Buffer(crb.OutOfGraphReplayBuffer):

    def get_storage_signature(self):
      signature = super().get_storage_signature()
      return [e for e in signature if with_observations or e.name != "observation"]

  return Buffer(observation_shape=(SCREEN_SIZE, SCREEN_SIZE), stack_size=STACK_SIZE,
                replay_capacity=max(capacity, STACK_SIZE + 1), batch_size=1,
                checkpoint_duration=_KEEP_ALL)


def replay_dir(root: str | os.PathLike, game: str, run: int) -> str:
  """`<root>/<game>/<run>/replay_logs`: where DQN Replay keeps one run's logs."""
  return os.path.join(os.fspath(root), game, str(run), "replay_logs")


def checkpoint_files(directory: str, checkpoint: int | str) -> list[str]:
  """The files Dopamine writes for one checkpoint, the one listing checkpoints (`terminal`) last."""
  names = [f"{STORE_PREFIX}{k}" for k in ("observation", "action", "reward", "terminal")]
  names[-1:-1] = ["add_count", "invalid_range", "episode_end_indices"]
  return [os.path.join(directory, f"{name}_ckpt.{checkpoint}.gz") for name in names]


def checkpoints_in(directory: str) -> list[int]:
  """The checkpoints whose files are in `directory`, ascending."""
  files = tf.io.gfile.glob(os.path.join(directory, f"{STORE_PREFIX}terminal_ckpt.*.gz"))
  return sorted(int(re.search(r"_ckpt\.(\d+)\.gz$", f).group(1)) for f in files)


def load_checkpoint(directory: str, checkpoint: int, with_observations: bool = True):
  """Loads one checkpoint with dopamine-rl's `OutOfGraphReplayBuffer.load`.

  Raises:
    OfflineScalingError: naming the directory and checkpoint when a file is
      missing, truncated or corrupt.
  """
  buffer = _make_buffer(0, with_observations)
  where = f"Dopamine checkpoint {checkpoint} in '{directory}'"
  try:
    buffer.load(directory, checkpoint)
  except tf.errors.NotFoundError as e:
    raise OfflineScalingError(f"{where} is incomplete: {e.message}") from None
  except (OSError, EOFError, ValueError, zlib.error) as e:
    raise OfflineScalingError(f"{where} is truncated or corrupt: {e}") from None
  return buffer


@dataclasses.dataclass
class _Span:
  """An episode: the chronological positions [start, stop) of its entries, and how it ended."""
  start: int
  stop: int
  terminal: bool


def _episode_spans(terminal: np.ndarray, ends: np.ndarray, wrapped: bool) -> list[_Span]:
  """Splits chronologically ordered entries into whole episodes (module docstring).

  Args:
    terminal: bool [n], the terminal flags in chronological order.
    ends: bool [n], where an episode ended (terminal or a listed episode end).
    wrapped: whether older entries were overwritten (then the first episode is partial).
  """
  last = np.flatnonzero(ends)
  first = np.concatenate([[0], last[:-1] + 1]) + STACK_SIZE - 1  # after the padding
  spans = [_Span(int(s), int(e) + 1, bool(terminal[e])) for s, e in zip(first, last)]
  # An episode needs a transition: a terminal one, or one with a next observation.
  return [s for s in spans[int(wrapped):] if s.stop - s.start > (not s.terminal)]


def _whole_episodes(buffer) -> tuple[np.ndarray, list[_Span]]:
  """(buffer indices oldest first, the whole episodes' spans in that order) of a loaded buffer."""
  store = buffer._store  # pylint: disable=protected-access
  capacity = len(store["terminal"])
  add_count = int(buffer.add_count)
  wrapped = add_count > capacity
  oldest = add_count % capacity if wrapped else 0
  order = (np.arange(min(add_count, capacity)) + oldest) % capacity
  terminal = store["terminal"][order].astype(bool)
  ends = terminal | np.isin(order, list(getattr(buffer, "episode_end_indices", ())))
  return order, _episode_spans(terminal, ends, wrapped)


def read_checkpoint(directory: str, checkpoint: int, policy: str) -> Iterator[dict]:
  """Yields the whole episodes of one checkpoint as common episode dicts (numpy), in order."""
  buffer = load_checkpoint(directory, checkpoint)
  store = buffer._store  # pylint: disable=protected-access
  order, spans = _whole_episodes(buffer)
  for index, span in enumerate(spans):
    idx = order[span.start:span.stop]
    obs = store["observation"][idx]
    rewards = store["reward"][idx].astype(np.float32)
    discounts = np.ones(len(idx), np.float32)
    if span.terminal:
      obs = np.concatenate([obs, np.zeros((1, SCREEN_SIZE, SCREEN_SIZE), np.uint8)])
      discounts[-1] = 0.0
    length = len(obs) - 1
    yield dict(observations=obs, actions=store["action"][idx][:length].astype(np.int32),
               rewards=rewards[:length], discounts=discounts[:length],
               episode_return=np.float32(rewards.sum(dtype=np.float64)),
               policy_id=policy, episode_index=np.int32(index))


def summarize_checkpoint(directory: str, checkpoint: int) -> tuple[np.ndarray, np.ndarray]:
  """(returns, lengths in transitions) of a checkpoint's whole episodes, without loading frames."""
  buffer = load_checkpoint(directory, checkpoint, with_observations=False)
  order, spans = _whole_episodes(buffer)
  if not spans:
    raise OfflineScalingError(f"Dopamine checkpoint {checkpoint} in '{directory}' "
                              "holds no whole episode")
  rewards = buffer._store["reward"][order].astype(np.float64)  # pylint: disable=protected-access
  returns = np.array([rewards[s.start:s.stop].sum() for s in spans])
  lengths = np.array([s.stop - s.start - (not s.terminal) for s in spans])
  return returns, lengths


_EPISODE_SIGNATURE = dict(
    observations=tf.TensorSpec([None, SCREEN_SIZE, SCREEN_SIZE], tf.uint8),
    actions=tf.TensorSpec([None], tf.int32),
    rewards=tf.TensorSpec([None], tf.float32),
    discounts=tf.TensorSpec([None], tf.float32),
    episode_return=tf.TensorSpec([], tf.float32),
    policy_id=tf.TensorSpec([], tf.string),
    episode_index=tf.TensorSpec([], tf.int32))


class DopamineAtariSource:
  """An `EpisodeSource` over DQN Replay logs (module docstring).

  Args:
    root: the directory holding `{Game}/{run}/replay_logs/`.
    game: the game, any case.
    runs: the DQN runs (as the directory names: 1 … 5).
    checkpoints: the checkpoints to use (the paper: the first 40).
    cache_dir: where to cache policy tables when the run directory is not writable.
    cycle_length: checkpoints loaded at once by `episodes`; each takes the
      whole buffer in memory (a real DQN Replay checkpoint: about 7 GB of frames).
  """

  def __init__(self, root: str | os.PathLike, game: str = "Pong",
               runs: Sequence[int] = tuple(range(1, NUM_RUNS + 1)),
               checkpoints: Sequence[int] = tuple(range(40)),
               cache_dir: str | os.PathLike | None = None, cycle_length: int = 1):
    _replay_buffer_module()  # fail early, with the install hint
    self.root = os.fspath(root)
    self.game = atari_game_name(game)
    self.runs = list(runs)
    self.checkpoints = set(checkpoints)
    self.cache_dir = None if cache_dir is None else epath.Path(cache_dir)
    self.cycle_length = cycle_length
    self._policies: list[PolicyRecord] | None = None

  def _run_table(self, run: int) -> list[PolicyRecord]:
    directory = replay_dir(self.root, self.game, run)
    found = checkpoints_in(directory)
    if not found:
      raise missing_run_error(run, f"no Dopamine replay logs in '{directory}'",
                              lambda r: bool(checkpoints_in(replay_dir(self.root, self.game, r))))

    def compute():
      return [record_of(self.game, run, n, *summarize_checkpoint(directory, n),
                        f"{self.game}/{run}/replay_logs/*_ckpt.{n}.gz")
              for n in found]

    files = [f for n in found for f in checkpoint_files(directory, n) if tf.io.gfile.exists(f)]
    caches = [epath.Path(directory).parent / "policy_table.json"]
    if self.cache_dir is not None:
      caches.append(self.cache_dir / f"{self.game}_{run}.policy_table.json")
    return cached_policy_table(caches, files, compute)

  def policies(self) -> list[PolicyRecord]:
    """One row per (run, checkpoint) asked for that the logs hold, by run then checkpoint."""
    if self._policies is None:
      self._policies = [r for run in self.runs for r in self._run_table(run)
                        if r.checkpoint_step in self.checkpoints]
    return list(self._policies)

  def episodes(self, policy_ids: Sequence[str],
               episode_ranges: EpisodeRanges | None = None) -> tf.data.Dataset:
    """The whole episodes of `policy_ids`, `cycle_length` checkpoints read at a time."""
    records = find_policies(self.policies(), policy_ids,
                            f"{self.game} runs {self.runs} under '{self.root}'")
    keys = [(r.seed, r.checkpoint_step) for r in records]

    def generate(run, checkpoint):
      run, checkpoint = int(run), int(checkpoint)
      yield from read_checkpoint(replay_dir(self.root, self.game, run), checkpoint,
                                 policy_id(self.game, run, checkpoint))

    ds = tf.data.Dataset.from_tensor_slices(np.array(keys, np.int64)).interleave(
        lambda key: tf.data.Dataset.from_generator(generate, args=(key[0], key[1]),
                                                   output_signature=_EPISODE_SIGNATURE),
        cycle_length=self.cycle_length, num_parallel_calls=self.cycle_length,
        deterministic=True)
    return keep_episode_ranges(ds, episode_ranges)

  def check_policy(self, policy_id: str) -> None:
    """Loads the policy's checkpoint and reads every episode of it."""
    read_all(self, policy_id, f"Dopamine replay logs under '{self.root}'")


def write_checkpoint(directory: str | os.PathLike, checkpoint: int,
                     episodes: Sequence[Episode]) -> list[str]:
  """Writes episodes as Dopamine replay-buffer checkpoint N with dopamine-rl's `add` and `save`.

  Each transition is added as Dopamine's DQN agent stores it (clipped reward,
  terminal on the game's last transition, an episode end at the last of each
  episode); the buffer holds exactly these entries (it never wraps). Files go
  to a temporary directory first and are then renamed into place, the
  `terminal` file (by which checkpoints are found) last.

  Args:
    directory: the `replay_logs` directory.
    checkpoint: N.
    episodes: observations uint8 [L+1, 84, 84] (o_L is not stored), actions
      [L], rewards [L] unclipped, `terminated`.

  Returns:
    The files written.
  """
  directory = os.fspath(directory)
  buffer = _make_buffer(sum(ep.length + STACK_SIZE - 1 for ep in episodes))
  for ep in episodes:
    rewards = np.clip(ep.rewards, -1.0, 1.0)
    for t in range(ep.length):
      last = t == ep.length - 1
      buffer.add(ep.observations[t], ep.actions[t], rewards[t], int(last and ep.terminated),
                 episode_end=last)
  tmp = os.path.join(directory, f"ckpt.{checkpoint}{TMP_SUFFIX}")
  tf.io.gfile.makedirs(tmp)
  buffer.save(tmp, checkpoint)
  files = checkpoint_files(directory, checkpoint)
  for path in files:
    tf.io.gfile.rename(os.path.join(tmp, os.path.basename(path)), path, overwrite=True)
  tf.io.gfile.rmtree(tmp)
  return files
