"""MinAtar replay shards: the uint8 episode layout and `MinatarReplaySource`, on
real MinAtar episodes written as the online DQN's logger lays them out."""

import dataclasses
import hashlib

import numpy as np
import pytest
import tensorflow as tf

from offline_scaling import OfflineScalingError
from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import pipeline, policy_table
from offline_scaling.data.minatar_replay import MinatarReplaySource
from offline_scaling.envs.minatar import make_minatar_env

CHECKPOINTS, EPISODES, RUN = 3, 4, 1


def play(game, checkpoint, num_episodes, seed):
  """Real episodes of random actions, labelled as run RUN's checkpoint `checkpoint`."""
  env = make_minatar_env(game, seed=seed, max_episode_steps=40)
  rng = np.random.default_rng(seed)
  eps = []
  for index in range(num_episodes):
    frames, actions, rewards = [env.reset()[0]], [], []
    done = False
    while not done:
      actions.append(int(rng.integers(6)))
      obs, reward, terminated, truncated, _ = env.step(actions[-1])
      frames.append(obs)
      rewards.append(reward)
      done = terminated or truncated
    eps.append(ep_lib.Episode(
        observations=np.stack(frames), actions=np.asarray(actions, np.int64),
        rewards=np.asarray(rewards, np.float32), terminated=terminated,
        policy_id=f"{game}/run_{RUN}/{checkpoint}", env=game, seed=RUN,
        checkpoint_step=1000 * (checkpoint + 1), index=index))
  return eps


def clipped_return(ep):
  return float(np.clip(ep.rewards, -1.0, 1.0).sum())


def write_log(root, game):
  """One run of `game` as the logger writes it: a shard per checkpoint and the
  policy table (value = mean clipped return). Returns the episodes per checkpoint."""
  log, records = [], []
  for k in range(CHECKPOINTS):
    eps = play(game, k, EPISODES, seed=k)
    if k == 0:
      eps[0].rewards[-1] = 10.0  # a Seaquest surfacing with divers pays more than 1
    shard = f"run_{RUN}/episodes/{k:03d}.tfrecord"
    ep_lib.write_shard(root / shard, eps)
    clipped = [clipped_return(e) for e in eps]
    records.append(dataclasses.replace(policy_table.summarize(eps, shard),
                                       value=float(np.mean(clipped)),
                                       std=float(np.std(clipped))))
    log.append(eps)
  policy_table.write_policy_table(root / policy_table.TABLE_NAME, records)
  return log


@pytest.fixture(scope="module")
def seaquest(tmp_path_factory):
  root = tmp_path_factory.mktemp("minatar") / "seaquest"
  return root, write_log(root, "seaquest")


def stream_config(**kw):
  c = pipeline.default_config()
  c.update(batch_size=16, shuffle_block=64, cycle_length=4, chunk=8, num_seeds=2, n_step=1,
           with_ids=True)
  c.update(kw)
  return c


@pytest.mark.parametrize("game, channels", [("seaquest", 10), ("breakout", 4)])
def test_uint8_shard_round_trips_frames_exactly(tmp_path, game, channels):
  written = play(game, 0, 3, seed=7)
  path = ep_lib.write_shard(tmp_path / "s.tfrecord", written)
  ex = tf.train.Example.FromString(next(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()))
  feature = ex.features.feature
  assert list(feature["episode/obs_shape"].int64_list.value) == [10, 10, channels]
  assert "episode/obs_dim" not in feature
  assert len(feature["steps/observation"].bytes_list.value) == 1
  read = list(ep_lib.read_shard(path))
  assert len(read) == len(written)
  for a, b in zip(written, read):
    assert b.observations.dtype == np.uint8
    assert b.observations.shape == (a.length + 1, 10, 10, channels)
    np.testing.assert_array_equal(b.observations, a.observations)
    np.testing.assert_array_equal(b.actions, a.actions)
    np.testing.assert_array_equal(b.rewards, a.rewards)
    assert (b.terminated, b.policy_id, b.index) == (a.terminated, a.policy_id, a.index)


def test_float_layout_is_unchanged():
  ep = ep_lib.Episode(
      observations=np.arange(8, dtype=np.float32).reshape(4, 2) / 4,
      actions=np.array([3, 0, 7]), rewards=np.array([0.5, -1.25, 2.0], np.float32),
      terminated=True, policy_id="hopper/seed_2/40000", env="hopper", seed=2,
      checkpoint_step=40000, index=5)
  ex = tf.train.Example.FromString(ep_lib.to_example(ep))
  # Pinned from the code before the uint8 layout existed. The canonical
  # (key-sorted) bytes: protobuf's default map order follows the process's
  # hash seed, so plain serialisations differ between processes anyway.
  assert hashlib.sha256(ex.SerializeToString(deterministic=True)).hexdigest() == (
      "d248d706a7f894d309f6efca88f85b4bf818f7e2bd8a897f98d0e0be47c84799")
  back = ep_lib.from_example(ep_lib.to_example(ep))
  assert back.observations.dtype == np.float32
  np.testing.assert_array_equal(back.observations, ep.observations)


def test_wrong_frame_byte_count_names_file_record_and_feature(tmp_path):
  eps = play("breakout", 0, 2, seed=3)
  ex = tf.train.Example.FromString(ep_lib.to_example(eps[1]))
  frames = ex.features.feature["steps/observation"].bytes_list
  frames.value[0] = frames.value[0][:-100]
  path = tmp_path / "bad.tfrecord"
  with tf.io.TFRecordWriter(str(path)) as w:
    w.write(ep_lib.to_example(eps[0]))
    w.write(ex.SerializeToString())
  with pytest.raises(OfflineScalingError,
                     match=r"bad.tfrecord: record 1 feature 'steps/observation' .*bytes"):
    list(ep_lib.read_shard(path))


def test_source_clips_rewards_and_returns(seaquest):
  root, log = seaquest
  source = MinatarReplaySource(root)
  ids = [p.policy_id for p in source.policies()]
  assert ids == [f"seaquest/run_{RUN}/{k}" for k in range(CHECKPOINTS)]
  by_key = {(e.policy_id, e.index): e for eps in log for e in eps}
  read = list(source.episodes(ids).as_numpy_iterator())
  assert len(read) == len(by_key)
  for ep in read:
    want = by_key[(ep["policy_id"].decode(), ep["episode_index"])]
    assert ep["observations"].dtype == np.uint8
    np.testing.assert_array_equal(ep["observations"], want.observations)
    np.testing.assert_array_equal(ep["rewards"], np.clip(want.rewards, -1.0, 1.0))
    assert ep["episode_return"] == clipped_return(want)
  assert max(ep.rewards.max() for eps in log for ep in eps) == 10.0  # raw in the shard
  stats = pipeline.dataset_stats(source, ids)  # also checks the table's values
  assert (stats.r_max, stats.num_episodes) == (1.0, CHECKPOINTS * EPISODES)
  assert stats.g_max == max(clipped_return(e) for e in by_key.values())


@pytest.mark.parametrize("algo", ["bc", "cql"])
def test_stream_yields_uint8_frames_and_clipped_rewards(seaquest, algo):
  root, log = seaquest
  source = MinatarReplaySource(root)
  ids = [p.policy_id for p in source.policies()]
  by_key = {(e.policy_id, e.index): e for eps in log for e in eps}
  c = stream_config(algo=algo)
  rewards, seen = [], 0
  for b in pipeline.make_stream(source, ids, c):
    assert b["obs"].dtype == np.uint8 and b["obs"].shape[0] == c.num_seeds
    assert b["obs"].shape[2:] == (10, 10, 10) and b["obs"].shape[1] <= c.batch_size
    for pid, e, t, obs in zip(b["policy_id"][0], b["episode_index"][0], b["step"][0],
                              b["obs"][0]):
      np.testing.assert_array_equal(obs, by_key[(pid.decode(), e)].observations[t])
    seen += b["obs"].shape[1]
    if algo == "cql":
      assert b["next_obs"].dtype == np.uint8 and b["next_obs"].shape == b["obs"].shape
      rewards.extend(b["reward"][0])
  assert seen == sum(e.length for e in by_key.values())  # one pass, every transition once
  if algo == "cql":  # n_step = 1: the stream's rewards are the clipped step rewards
    want = np.concatenate([np.clip(e.rewards, -1.0, 1.0) for e in by_key.values()])
    np.testing.assert_array_equal(np.sort(rewards), np.sort(want))
    assert max(rewards) == 1.0


def test_truncated_shard_is_one_error_naming_the_file(tmp_path):
  root = tmp_path / "seaquest"
  write_log(root, "seaquest")
  path = root / f"run_{RUN}/episodes/001.tfrecord"
  data = path.read_bytes()
  path.write_bytes(data[: len(data) - 100])
  source = MinatarReplaySource(root)
  ids = [p.policy_id for p in source.policies()]
  with pytest.raises(OfflineScalingError, match=r"001.tfrecord.*truncated or corrupt"):
    pipeline.dataset_stats(source, ids)
  with pytest.raises(OfflineScalingError, match=r"001.tfrecord.*truncated or corrupt"):
    for _ in pipeline.make_stream(source, ids, stream_config()):
      pass
