"""Dopamine replay logs: writer and reader, the circular buffer, bad logs, the missing extra."""

import os
import sys

import numpy as np
import pytest
import tensorflow as tf

from offline_scaling import OfflineScalingError
from offline_scaling.data import dopamine_atari
from offline_scaling.data.dopamine_atari import DopamineAtariSource
from offline_scaling.data.episodes import Episode

crb = pytest.importorskip("dopamine.tf.replay_memory.circular_replay_buffer",
                          reason="dopamine-rl (the [dopamine] extra) is not installed")

def _by_key(ds):
  return sorted(ds.as_numpy_iterator(), key=lambda e: (e["policy_id"], e["episode_index"]))


def _assert_dopamine_view(read, played):
  """Read episodes are the given ones as Dopamine stores them (see `dopamine_atari`)."""
  assert len(read) == len(played)
  for i, (r, p) in enumerate(zip(read, played)):
    L = p.length if p.terminated else p.length - 1
    assert r["episode_index"] == i and len(r["actions"]) == L
    np.testing.assert_array_equal(r["observations"][:L + 1 - p.terminated],
                                  p.observations[:L + 1 - p.terminated])
    if p.terminated:
      assert not r["observations"][-1].any()  # Dopamine stores no final frame
    np.testing.assert_array_equal(r["actions"], p.actions[:L])
    np.testing.assert_array_equal(r["rewards"], np.clip(p.rewards, -1, 1)[:L])
    np.testing.assert_array_equal(r["discounts"][:-1], np.ones(L - 1))
    assert r["discounts"][-1] == (0.0 if p.terminated else 1.0)
    assert r["episode_return"] == pytest.approx(np.clip(p.rewards, -1, 1).sum())


def _synthetic(lengths, terminated, seed=0):
  rng = np.random.default_rng(seed)
  return [Episode(observations=rng.integers(1, 256, (L + 1, 84, 84), dtype=np.uint8),
                  actions=rng.integers(0, 4, L), rewards=rng.choice([0.0, 1.0, 5.0, -2.0], L),
                  terminated=t, index=i)
          for i, (L, t) in enumerate(zip(lengths, terminated))]


def test_wrapped_buffer_keeps_the_whole_episodes_and_drops_the_capped_last_step(tmp_path):
  # Written by Dopamine's own buffer, as its DQN agent does, into a buffer too small
  # for all of it: the oldest episodes are (partly) overwritten.
  lengths, terminated = [7, 5, 9, 6, 4], [True, True, True, False, True]
  episodes = _synthetic(lengths, terminated)
  buffer = crb.OutOfGraphReplayBuffer(observation_shape=(84, 84), stack_size=4,
                                      replay_capacity=30, batch_size=1)
  for ep in episodes:
    for t in range(ep.length):
      last = t == ep.length - 1
      buffer.add(ep.observations[t], ep.actions[t], np.clip(ep.rewards[t], -1, 1),
                 int(last and ep.terminated), episode_end=last)
  directory = tmp_path / "Pong" / "3" / "replay_logs"
  directory.mkdir(parents=True)
  buffer.save(str(directory), 5)
  # 46 entries (3 padding before each episode) in 30 slots: entries 16-45 are left,
  # so episode 1 (entries 10-17) is cut and episodes 2-4 are whole.
  source = DopamineAtariSource(tmp_path, "pong", runs=[3])
  (record,) = source.policies()
  assert record.policy_id == "Pong/run_3/ckpt_5" and record.num_episodes == 3
  assert record.shard == "Pong/3/replay_logs/*_ckpt.5.gz"
  _assert_dopamine_view(_by_key(source.episodes(["Pong/run_3/ckpt_5"])), episodes[2:])
  assert record.num_steps == 9 + 5 + 4
  # Old logs (DQN Replay) have no episode-end file: the capped episode runs into the next.
  os.remove(directory / "episode_end_indices_ckpt.5.gz")
  os.remove(directory.parent / "policy_table.json")
  merged = _by_key(DopamineAtariSource(tmp_path, "pong", runs=[3]).episodes(["Pong/run_3/ckpt_5"]))
  assert [len(e["actions"]) for e in merged] == [9, 6 + 3 + 4]


def test_writer_and_reader_agree_on_synthetic_episodes(tmp_path):
  episodes = _synthetic([5, 12, 3], [True, False, True], seed=1)
  directory = tmp_path / "MsPacman" / "2" / "replay_logs"
  files = dopamine_atari.write_checkpoint(directory, 0, episodes)
  assert all(os.path.exists(f) for f in files) and sorted(os.listdir(directory)) == sorted(
      os.path.basename(f) for f in files)  # the temporary directory is gone
  source = DopamineAtariSource(tmp_path, "mspacman", runs=[2])
  _assert_dopamine_view(_by_key(source.episodes(["MsPacman/run_2/ckpt_0"], {})), episodes)
  kept = _by_key(source.episodes(["MsPacman/run_2/ckpt_0"], {"MsPacman/run_2/ckpt_0": (1, 3)}))
  assert [e["episode_index"] for e in kept] == [1, 2]


def test_bad_logs_name_the_checkpoint(tmp_path):
  directory = tmp_path / "Pong" / "1" / "replay_logs"
  dopamine_atari.write_checkpoint(directory, 0, _synthetic([4, 6], [True, True]))
  dopamine_atari.write_checkpoint(directory, 1, _synthetic([4, 6], [True, True]))
  os.remove(directory / "$store$_reward_ckpt.0.gz")
  with pytest.raises(OfflineScalingError, match=r"Dopamine checkpoint 0 in '.*replay_logs' is "
                     r"incomplete: Missing file: .*\$store\$_reward_ckpt.0.gz"):
    DopamineAtariSource(tmp_path, "pong", runs=[1]).policies()
  os.remove(directory / "$store$_terminal_ckpt.0.gz")  # checkpoint 0 is gone altogether now
  path = directory / "$store$_observation_ckpt.1.gz"
  path.write_bytes(path.read_bytes()[:200])
  source = DopamineAtariSource(tmp_path, "pong", runs=[1])
  assert [p.policy_id for p in source.policies()] == ["Pong/run_1/ckpt_1"]  # frames not read
  # Frames are loaded while streaming: the error comes through tf.data, with our sentence.
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="OfflineScalingError: Dopamine checkpoint 1 in .* truncated or corrupt"):
    list(source.episodes(["Pong/run_1/ckpt_1"]).as_numpy_iterator())
  with pytest.raises(OfflineScalingError, match=r"run 2 is missing \(no Dopamine replay logs in "
                     r"'.*Pong/2/replay_logs'\): pass --runs=1 to read only the runs you have"):
    DopamineAtariSource(tmp_path, "pong", runs=[1, 2]).policies()


def test_missing_extra_is_named(monkeypatch, tmp_path):
  for name in [m for m in sys.modules if m == "dopamine" or m.startswith("dopamine.")]:
    monkeypatch.setitem(sys.modules, name, None)
  monkeypatch.setitem(sys.modules, "dopamine", None)
  with pytest.raises(OfflineScalingError, match=r"dopamine-rl>=4.1: pip install "
                     r"'offline_scaling\[dopamine\]'"):
    DopamineAtariSource(tmp_path, "pong")
