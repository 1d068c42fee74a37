"""MinAtar DQN replay: the episodes our online DQN logged, checkpoint by checkpoint.

`train.online_dqn` logs a MinAtar game's runs as DQN Replay logs the ALE's:
every run is cut into checkpoints (equal spans of agent steps), and each
checkpoint is one "policy" whose episodes are those that *ended* during its
span. On disk, under one game's root:

    <root>/policy_table.json               one row per checkpoint of every run
    <root>/run_<r>/episodes/<i:03d>.tfrecord   checkpoint i's episodes, in the order they ended

The shards use `episodes.py`'s uint8 layout (frames uint8 [L + 1, 10, 10, C]
in {0, 1}, `episode/obs_shape` = [10, 10, C]) and hold the game's *raw*
rewards (Seaquest can pay more than 1 in a step). The table's rows
(`policy_table.PolicyRecord`) read:

| field           | value                                                            |
|-----------------|------------------------------------------------------------------|
| policy_id       | `<game>/run_<r>/<i>`, e.g. `seaquest/run_1/3` (i: checkpoint index) |
| env             | the game's lower-case name, e.g. `seaquest`                      |
| seed            | r, the DQN run's number                                          |
| checkpoint_step | agent steps (= MinAtar frames) of the run at the snapshot ending span i |
| value, std      | mean and std of the checkpoint's episodes' *clipped* returns     |
| shard           | `run_<r>/episodes/<i:03d>.tfrecord`, relative to the root        |

**Rewards.** As every Atari source's (`rlu_atari`: DQN Replay's unit), the
episodes read here are clipped on reading: rewards clipped to [−1, 1] and
episode_return = Σ clipped rewards, the unit of the table's values.
"""

from __future__ import annotations

import tensorflow as tf

from offline_scaling.data.sources import PybulletSource

_FRAMES_FEATURES = {
    "steps/observation": tf.io.FixedLenFeature([], tf.string),
    "steps/action": tf.io.RaggedFeature(tf.int64),
    "steps/reward": tf.io.RaggedFeature(tf.float32),
    "steps/discount": tf.io.RaggedFeature(tf.float32),
    "episode/obs_shape": tf.io.RaggedFeature(tf.int64),
    "episode/length": tf.io.FixedLenFeature([], tf.int64),
    "episode/policy_id": tf.io.FixedLenFeature([], tf.string),
    "episode/index": tf.io.FixedLenFeature([], tf.int64),
}


def parse_frames_episode(serialized: tf.Tensor) -> dict:
  """One serialised uint8-layout episode (see `episodes.py`) -> the common episode dict.

  Args:
    serialized: a string scalar, one `tf.train.Example`.

  Returns:
    The dict of `sources.py`'s table: observations uint8 [L + 1, *obs_shape],
    actions int32 [L], rewards float32 [L] clipped to [−1, 1], discounts
    float32 [L], episode_return float32 [] = Σ clipped rewards, policy_id,
    episode_index int32 [].
  """
  f = tf.io.parse_single_example(serialized, _FRAMES_FEATURES)
  length = tf.cast(f["episode/length"], tf.int32)
  shape = tf.concat([[length + 1], tf.cast(f["episode/obs_shape"], tf.int32)], 0)
  # A missing or cut step feature leaves a shorter field, which the stream's
  # episode check (`pipeline.episode_problem`) reports or skips; a wrong byte
  # count fails the reshape, which `check_policy` explains.
  rewards = tf.clip_by_value(f["steps/reward"][:length], -1.0, 1.0)
  return dict(
      observations=tf.reshape(tf.io.decode_raw(f["steps/observation"], tf.uint8), shape),
      actions=tf.cast(f["steps/action"][:length], tf.int32),
      rewards=rewards,
      discounts=f["steps/discount"][:length],
      episode_return=tf.reduce_sum(rewards),
      policy_id=f["episode/policy_id"],
      episode_index=tf.cast(f["episode/index"], tf.int32))


class MinatarReplaySource(PybulletSource):
  """The episode shards and policy table of one MinAtar game's DQN runs (see
  the module docstring), read as a study's source; rewards and returns clipped.

  Args:
    root: the game's log directory (holding `policy_table.json`).
  """

  parse = staticmethod(parse_frames_episode)
