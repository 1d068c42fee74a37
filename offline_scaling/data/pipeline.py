"""tf.data streams of training batches, per algorithm, from any episode source.

    per seed s of `num_seeds`, its own order:
      episodes: the mixture of this host's share of the selected policies —
        one episode stream per policy, read in a seeded random order of the
        policies' episode labels (`tf.data.Dataset.choose_from_datasets`)
      → per episode: transitions of the algorithm, in chunks of `chunk` steps
        (frame stacks and n-step targets built here, inside the episode)
      → interleave chunks of `cycle_length` episodes → blocks of `shuffle_block`
        transitions, each randomly permuted → batches of `batch_size`
    → the seeds' batches stacked: [num_seeds, batch_size, ...] → prefetch

**The mixture.** Every policy's episodes are read by a stream of their own,
and which policy gives the next episode follows a seeded random permutation
of all the episodes' policy labels (each policy's as many times as it has
episodes: its policy-table count, or its episode range), so all policies run
out together and any window of the stream holds the policies' transitions in
proportion to their data (not a few files at a time). The bad-episode check
and RFI's return filter act after the choice: a policy's kept share is then
its kept episodes'. A source with `episodes_in_order` (PyBullet shards)
interleaves its raw records and parses once per seed; others give one
episode stream per policy. A batch of B transitions is a draw from the blocks'
`cycle_length` episodes in flight, themselves drawn from the mixture.

**Seeds.** Seed s reads the whole selection in an order of its own (its own
draw of policies and its own block permutations), so the vmapped seeds are
replicates independent in data order; in one-pass mode each sees every
transition exactly once. The per-seed pipelines cost num_seeds × one's work.

Per algorithm, one seed's batch of B transitions holds (a stream batch holds
every seed's, stacked on a leading [num_seeds] axis)

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

**Bad episodes.** Every episode is checked on its way in (`episode_problem`):
no transitions, non-finite rewards, return or observations, or step fields of
unequal length (a missing or cut feature). By default the first one stops the
run with the file and record named (`dataset_stats`, which runs before any
training, finds it); with `skip_bad_episodes` they are dropped and counted in
`DatasetStats.skipped_episodes`. `dataset_stats` also checks the selected
policies' episodes against the policy table (count, steps, value).

**One pass or repeat.** `repeat=False` is the infinite-data mode: every
transition of the selected episodes is delivered exactly once over all hosts
together (hosts read disjoint files), then the stream ends. `repeat=True`
cycles for finite datasets. The order is a pure function of `seed`; the
stream's position is saved and restored with `Stream.save` / `Stream.restore`.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from typing import Iterator, Sequence

import ml_collections
import numpy as np
import tensorflow as tf

from offline_scaling.data.sources import EpisodeRanges, EpisodeSource, find_policies, rotated
from offline_scaling.errors import OfflineScalingError

ALGOS = ("bc", "rfi", "rci", "cql")
# 2: the mixture of all selected policies, each seed in its own order (issue
# 20). Version 1, which the runs published before it were trained on,
# interleaved the policies' files 8 at a time in one order shared by every
# seed; their configs have no `stream.version`, so every run id changed with it.
VERSION = 2


def default_config() -> ml_collections.ConfigDict:
  """Stream settings; algorithm-specific ones are ignored by the others."""
  c = ml_collections.ConfigDict()
  c.algo = "bc"
  c.batch_size = 256
  c.seed = 0
  c.num_seeds = 1           # vmapped seeds: each reads the whole selection in its own order
  c.version = VERSION       # the stream's protocol (see VERSION)
  c.repeat = False          # False: one pass, no transition delivered twice
  c.shuffle_block = 8_192   # transitions shuffled together (one permutation per block)
  c.cycle_length = 64       # episodes whose chunks are interleaved into a block
  c.chunk = 64              # transitions built per step of an episode's sub-stream
  c.frame_stack = 1         # 4 for Atari
  c.n_step = 3              # cql
  c.gamma = 0.99            # cql
  c.rfi_fraction = 0.1      # rfi: keep the top 10% trajectories by return
  c.with_ids = False        # add policy_id, episode_index, step (for tests/debugging)
  c.skip_bad_episodes = False  # True: drop bad episodes and count them; False: refuse them
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the stream settings; one message naming the field."""
  if config.algo not in ALGOS:
    raise OfflineScalingError(f"stream algo {config.algo!r} is not one of {ALGOS}")
  if config.version != VERSION:
    raise OfflineScalingError(
        f"stream version={config.version!r}: this library builds version {VERSION} only "
        "(the mixture of all selected policies, each seed in its own order)")
  for field in ("batch_size", "num_seeds", "shuffle_block", "cycle_length", "chunk",
                "frame_stack", "n_step"):
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
    r_min, r_max: smallest / largest one-step reward (CQL scales rewards by them).
    num_episodes, num_transitions: sizes (bad episodes skipped excluded).
    rfi_threshold: the return at or above which an episode is in the top
      `rfi_fraction` (the (1 − fraction) quantile, 'higher' interpolation).
    rfi_transitions: transitions of those top episodes (what RFI trains on).
    skipped_episodes: bad episodes dropped (`skip_bad_episodes`).
    skipped: which, as "file: record i (policy p) problem", the first 20.
    policy_top_episodes: policy id -> its good episodes in the top
      `rfi_fraction` (RFI's stream leaves out the policies with none).
  """
  g_min: float
  g_max: float
  r_min: float
  r_max: float
  num_episodes: int
  num_transitions: int
  rfi_threshold: float
  rfi_transitions: int = 0
  skipped_episodes: int = 0
  skipped: tuple[str, ...] = ()
  policy_top_episodes: dict = dataclasses.field(default_factory=dict)

  def to_dict(self) -> dict:
    """The statistics as a JSON-ready dict."""
    return dataclasses.asdict(self)

  @classmethod
  def from_record(cls, record: dict) -> "DatasetStats":
    """The statistics a run's result recorded (`to_dict`). Records written
    before r_min/r_max existed lack them: they read NaN (only CQL's reward
    scale uses them, and only when training)."""
    return cls(**{"r_min": float("nan"), "r_max": float("nan"), **record})


# What `episode_problem` codes mean (0: a good episode).
PROBLEMS = ("", "has no transitions", "has non-finite rewards or return",
            "has non-finite observations",
            "has step fields of unequal length (a feature is missing or cut)")
MALFORMED = 4


def episode_problem(ep: dict) -> tf.Tensor:
  """An int32 scalar: 0 for a good episode, else its index in PROBLEMS."""
  L = tf.shape(ep["actions"])[0]
  aligned = ((tf.shape(ep["observations"])[0] == L + 1) & (tf.size(ep["rewards"]) == L)
             & (tf.size(ep["discounts"]) == L))
  finite_rewards = (tf.reduce_all(tf.math.is_finite(ep["rewards"]))
                    & tf.math.is_finite(ep["episode_return"]))
  obs = ep["observations"]
  finite_obs = (tf.reduce_all(tf.math.is_finite(obs)) if obs.dtype.is_floating
                else tf.constant(True))
  code = tf.where(~finite_obs, 3, 0)
  for bad, problem in ((~finite_rewards, 2), (L < 1, 1), (~aligned, MALFORMED)):
    code = tf.where(bad, problem, code)   # the last that applies wins: most basic first
  return code


def _checked(episodes: tf.data.Dataset, skip: bool) -> tf.data.Dataset:
  """Drops bad episodes (`skip`) or fails on the first one (a tf error that
  `Stream` traces back to the file and record)."""
  if skip:
    return episodes.filter(lambda ep: episode_problem(ep) == 0)

  def assert_good(ep):
    check = tf.debugging.assert_equal(episode_problem(ep), 0, message="bad episode")
    with tf.control_dependencies([check]):
      return {k: tf.identity(v) for k, v in ep.items()}

  return episodes.map(assert_good, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _read(ds: tf.data.Dataset, source: EpisodeSource, policy_ids: Sequence[str]) -> list:
  """All elements of `ds` as numpy; a tf.data read error names the file (and record)."""
  try:
    return list(ds.as_numpy_iterator())
  except tf.errors.OpError as e:
    explain_read_error(source, policy_ids, e)


def explain_read_error(source: EpisodeSource, policy_ids: Sequence[str],
                       error: tf.errors.OpError) -> None:
  """Raises an `OfflineScalingError` naming the file (and record) behind `error`."""
  for pid in policy_ids:
    source.check_policy(pid)  # raises, naming the file, for the bad one
  raise OfflineScalingError(
      f"reading the episodes failed: {error.message.splitlines()[0]}") from None


def dataset_stats(source: EpisodeSource, policy_ids: Sequence[str],
                  episode_ranges: EpisodeRanges | None = None,
                  rfi_fraction: float = 0.1, skip_bad_episodes: bool = False) -> DatasetStats:
  """One pass over the selected episodes: returns, reward range, lengths, bad episodes, table check.

  Raises:
    OfflineScalingError: naming the file and record of the first bad episode
      (unless `skip_bad_episodes`), or the policy whose episodes disagree with
      the policy table (count; steps and value when whole policies are read).
  """
  ds = source.episodes(policy_ids, episode_ranges).map(
      lambda ep: dict(policy_id=ep["policy_id"], index=ep["episode_index"],
                      episode_return=ep["episode_return"], length=tf.shape(ep["actions"])[0],
                      reward_min=tf.reduce_min(ep["rewards"]),
                      reward_max=tf.reduce_max(ep["rewards"]), problem=episode_problem(ep)),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  rows = _read(ds, source, policy_ids)
  table = {p.policy_id: p for p in source.policies()}
  where = lambda r: (f"'{table[r['policy_id'].decode()].shard}': record {r['index']} "
                     f"(policy '{r['policy_id'].decode()}')")
  _check_against_table(rows, [table[pid] for pid in policy_ids], episode_ranges)
  bad = [r for r in rows if r["problem"]]
  if bad and not skip_bad_episodes:
    if bad[0]["problem"] == MALFORMED:
      source.check_policy(bad[0]["policy_id"].decode())  # names the missing feature if it can
    raise OfflineScalingError(f"{where(bad[0])} {PROBLEMS[bad[0]['problem']]}; pass "
                              "--skip_bad_episodes to skip and count such episodes")
  good = [r for r in rows if not r["problem"]]
  if not good:
    raise OfflineScalingError(
        f"the selected policies ({len(policy_ids)}) have no (good) episodes in the given ranges")
  returns = np.asarray([r["episode_return"] for r in good], np.float64)
  threshold = float(np.quantile(returns, 1.0 - rfi_fraction, method="higher"))
  # The float32 return, as the stream's filter compares it.
  top = [r for r in good if r["episode_return"] >= np.float32(threshold)]
  count = lambda rows: dict(collections.Counter(r["policy_id"].decode() for r in rows))
  return DatasetStats(g_min=float(returns.min()), g_max=float(returns.max()),
                      r_min=float(min(r["reward_min"] for r in good)),
                      r_max=float(max(r["reward_max"] for r in good)),
                      num_episodes=len(returns),
                      num_transitions=int(sum(r["length"] for r in good)),
                      rfi_threshold=threshold,
                      rfi_transitions=int(sum(r["length"] for r in top)),
                      skipped_episodes=len(bad),
                      skipped=tuple(f"{where(r)} {PROBLEMS[r['problem']]}" for r in bad[:20]),
                      policy_top_episodes=count(top))


def _check_against_table(rows: list[dict], records: Sequence, episode_ranges) -> None:
  """The episodes read agree with the table rows of their policies (see `dataset_stats`)."""
  by_policy = {r.policy_id: [] for r in records}
  for row in rows:
    pid = row["policy_id"].decode()
    if pid not in by_policy:
      raise OfflineScalingError(f"episode {row['index']} of policy '{pid}' was read from the "
                                f"files of policies {sorted(by_policy)}: the table and the "
                                "shards disagree")
    by_policy[pid].append(row)
  for record in records:
    eps = by_policy[record.policy_id]
    want, found = dict(episodes=record.num_episodes), dict(episodes=len(eps))
    if episode_ranges:
      start, stop = episode_ranges[record.policy_id]
      want["episodes"] = stop - start
    elif eps and not any(r["problem"] for r in eps):
      want.update(steps=record.num_steps, value=record.value)
      found.update(steps=int(sum(r["length"] for r in eps)),
                   value=float(np.mean([r["episode_return"] for r in eps])))
    if (found["episodes"] != want["episodes"] or found.get("steps") != want.get("steps")
        or ("value" in want and not np.isclose(found["value"], want["value"], rtol=1e-4,
                                                atol=1e-3))):
      raise OfflineScalingError(
          f"the policy table says policy '{record.policy_id}' has {want}, but its shard "
          f"'{record.shard}' holds {found}")


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

  if config.frame_stack == 1:
    # Whole-episode observations cost one gather, not one per chunk; a frame
    # stack is built per chunk instead, so stacks exist only for the chunks in flight.
    return tf.data.Dataset.from_tensor_slices(add_obs(index)).batch(config.chunk)
  return tf.data.Dataset.from_tensor_slices(index).batch(config.chunk).map(add_obs)


def host_policies(policy_ids: Sequence[str], seed: int, host: tuple[int, int] = (0, 1)
                  ) -> list[str]:
  """This host's policies: the same seeded order on every host, then every
  count-th from `index`. Disjoint over hosts, all of them together."""
  index, count = host
  order = np.random.default_rng(seed).permutation(len(policy_ids))
  return [policy_ids[i] for i in order[index::count]]


def seed_of(seed: int, s: int) -> int:
  """The stream seed of vmapped seed `s` of a run seeded `seed` (distinct per pair)."""
  return int(np.random.SeedSequence((seed, s)).generate_state(1)[0] >> 1)


def _order(counts: Sequence[int], repeat: bool, seed: int) -> tf.data.Dataset:
  """Which policy gives each next episode: per pass, policy i's index
  `counts[i]` times (its episodes), in a seeded random permutation."""
  labels = tf.constant(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
  passes = tf.data.Dataset.range(2 ** 62 if repeat else 1)
  return passes.flat_map(lambda k: tf.data.Dataset.from_tensor_slices(
      tf.random.experimental.stateless_shuffle(labels, seed=tf.stack(
          [tf.constant(seed, tf.int64), k]))))


def _episode_counts(source: EpisodeSource, policy_ids: Sequence[str],
                    episode_ranges: EpisodeRanges | None) -> list[int]:
  """Episodes each policy's stream yields before any check or filter: its
  policy-table count, or the size of its episode range."""
  records = find_policies(source.policies(), policy_ids, "the data source")
  return [(episode_ranges[r.policy_id][1] - episode_ranges[r.policy_id][0]) if episode_ranges
          else r.num_episodes for r in records]


def _mixture(source: EpisodeSource, policy_ids: Sequence[str], counts: Sequence[int],
             repeat: bool, seed: int, per_policy: list[tf.data.Dataset] | None,
             episode_ranges: EpisodeRanges | None) -> tf.data.Dataset:
  """The episodes of `policy_ids` in one seed's random order (see the module
  docstring): every policy's stream runs out at the end of each pass, and
  each starts at a seeded random one of its episodes (read from there round
  to the start), so seeds do not all begin with the same episodes.

  `counts`: `_episode_counts`. `per_policy`: each policy's
  `source.episodes([id], episode_ranges)`, for sources without
  `episodes_in_order` (built once, read by every seed); a source with it cuts
  each policy to its range itself."""
  starts = np.random.default_rng(seed).integers(0, counts).tolist()
  order = _order(counts, repeat, seed)
  if per_policy is None:
    return source.episodes_in_order(policy_ids, order, starts, repeat, episode_ranges)
  return tf.data.Dataset.choose_from_datasets(
      [rotated(ds, k, repeat) for ds, k in zip(per_policy, starts)], order)


def _seed_dataset(episodes: tf.data.Dataset, config: ml_collections.ConfigDict,
                  seed: int) -> tf.data.Dataset:
  """One seed's batches of `batch_size` transitions from its episode stream."""
  ds = episodes.interleave(lambda ep: _episode_chunks(ep, config),
                           cycle_length=config.cycle_length, block_length=1,
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  # Shuffle whole blocks of transitions with one vectorised permutation each:
  # tf.data's per-element shuffle would cost more than everything else here.
  ds = ds.rebatch(config.shuffle_block).enumerate().map(
      lambda i, block: _permute(block, tf.stack([tf.constant(seed, tf.int64), i])),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  return ds.rebatch(config.batch_size, drop_remainder=config.repeat)


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
    stats: `dataset_stats(...)` of the selection; needed for RFI (its
      threshold; computed when missing).
    host: (index, count) of this host; hosts read disjoint files.

  Returns:
    Batches of dicts of [num_seeds, batch_size, ...] arrays; with
    `repeat=False` the last partial batch is kept (the same size for every
    seed), so no transition is dropped.
  """
  validate(config)
  if not policy_ids:
    raise OfflineScalingError("no policy selected: the stream would be empty")
  mine = host_policies(policy_ids, config.seed, host)
  if config.algo == "rfi":
    if stats is None or not stats.policy_top_episodes:
      stats = dataset_stats(source, policy_ids, episode_ranges, config.rfi_fraction,
                            config.skip_bad_episodes)
    mine = [pid for pid in mine if stats.policy_top_episodes.get(pid, 0)]
    if not mine:
      raise OfflineScalingError(
          f"host {host[0]} of {host[1]} has no top episodes among its share of the "
          f"{len(policy_ids)} selected policies: use fewer hosts")
  # A source that orders its own records parses once per seed; any other is
  # read through one episode stream per policy, shared by the seeds.
  per_policy = (None if hasattr(source, "episodes_in_order") else
                [source.episodes([pid], episode_ranges) for pid in mine])
  counts = _episode_counts(source, mine, episode_ranges)
  per_seed = []
  for s in range(config.num_seeds):
    seed = seed_of(config.seed, s)
    episodes = _checked(_mixture(source, mine, counts, config.repeat, seed, per_policy,
                                 episode_ranges),
                        config.skip_bad_episodes)
    if config.algo == "rfi":
      threshold = tf.constant(stats.rfi_threshold, tf.float32)
      episodes = episodes.filter(lambda ep: ep["episode_return"] >= threshold)
    per_seed.append(_seed_dataset(episodes, config, seed))
  ds = tf.data.Dataset.zip(tuple(per_seed)).map(
      lambda *batches: {k: tf.stack([b[k] for b in batches]) for k in batches[0]},
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
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
  deep inside tf.data (truncated file, corrupt record, missing feature, a bad
  episode) is traced back to the file and record and raised as one
  `OfflineScalingError`.
  """

  def __init__(self, dataset: tf.data.Dataset, source: EpisodeSource | None = None,
               policy_ids: Sequence[str] = (), episode_ranges: EpisodeRanges | None = None,
               skip_bad_episodes: bool = False):
    self._iterator = iter(dataset)
    self._ckpt = tf.train.Checkpoint(iterator=self._iterator)
    self._source, self._policy_ids = source, list(policy_ids)
    self._episode_ranges, self._skip = episode_ranges, skip_bad_episodes

  def __iter__(self) -> Iterator[dict]:
    return self

  def __next__(self) -> dict:
    try:
      batch = next(self._iterator)
    except tf.errors.OpError as e:
      # A bad episode: the same checks, run where they name the file and record.
      dataset_stats(self._source, self._policy_ids, self._episode_ranges,
                    skip_bad_episodes=self._skip)
      explain_read_error(self._source, self._policy_ids, e)
    return {k: v.numpy() for k, v in batch.items()}

  def save(self, prefix: str) -> str:
    """Writes the position under `prefix` (a path prefix); returns the path written."""
    return self._ckpt.write(os.fspath(prefix))

  def restore(self, path: str) -> None:
    """Moves the stream to a position written by `save`.

    Raises:
      OfflineScalingError: the position is missing, or was saved by a stream
        built otherwise (other settings, or a version of this library whose
        pipeline differs): tf.data cannot map it onto this one.
    """
    try:
      self._ckpt.read(os.fspath(path)).assert_consumed()
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, AssertionError) as e:
      raise OfflineScalingError(
          f"cannot restore the stream position saved in {path}: it is missing, or the "
          "stream that saved it was built otherwise (other stream settings, or another "
          "version of offline_scaling; tf.data says: "
          f"{str(e).splitlines()[0][:300]}). Resume with the version that saved it, or "
          "start the run again in a new directory.") from None


def make_stream(source: EpisodeSource, policy_ids: Sequence[str],
                config: ml_collections.ConfigDict, **kwargs) -> Stream:
  """`build_dataset(...)` as a `Stream` (same arguments)."""
  host = kwargs.get("host", (0, 1))
  return Stream(build_dataset(source, policy_ids, config, **kwargs), source,
                host_policies(policy_ids, config.seed, host), kwargs.get("episode_ranges"),
                config.skip_bad_episodes)
