"""The online DQN's replay memory and its DQN-Replay-style log on real MinAtar games."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

pytest.importorskip("minatar")

from offline_scaling.data import episodes as episodes_lib  # noqa: E402
from offline_scaling.data import policy_table  # noqa: E402
from offline_scaling.errors import OfflineScalingError  # noqa: E402
from offline_scaling.train import checkpoints, online_dqn  # noqa: E402
from offline_scaling.train.replay_buffer import ReplayBuffer  # noqa: E402


def _frame(k):
  return np.full((2, 2, 1), k, np.uint8)


def test_replay_samples_only_whole_transitions_with_the_right_successor():
  buf = ReplayBuffer(7, (2, 2, 1))
  # Episode A: frames 1, 2, 3 (3 ends it, terminal); episode B: 10, 11, 12, 13 (unfinished).
  for k, (frame, terminal) in enumerate([(1, False), (2, False), (3, True),
                                         (10, False), (11, False), (12, False), (13, False)]):
    buf.add(_frame(frame), action=frame, reward=0.5, terminal=terminal,
            continues=k not in (0, 3))
  batch = buf.sample(np.random.default_rng(0), 500)
  seen = set(batch["action"].tolist())
  assert seen == {1, 2, 3, 10, 11, 12}  # 13's successor is not known yet
  for a, obs, nxt, disc in zip(batch["action"], batch["obs"], batch["next_obs"],
                               batch["discount"]):
    assert obs[0, 0, 0] == a
    if a == 3:
      assert disc == 0 and not nxt.any()
    else:
      assert disc == 1 and nxt[0, 0, 0] == a + 1
  # Wrapping overwrites the oldest slot (frame 1) with 14; 13 -> 14 becomes sampleable.
  buf.add(_frame(14), action=14, reward=0.0, terminal=False, continues=True)
  seen = set(buf.sample(np.random.default_rng(1), 500)["action"].tolist())
  assert seen == {2, 3, 10, 11, 12, 13}
  copy = ReplayBuffer.from_arrays(buf.arrays())
  a, b = (x.sample(np.random.default_rng(2), 64) for x in (buf, copy))
  assert all(np.array_equal(a[k], b[k]) for k in a)


def test_replay_with_nothing_to_sample_says_so():
  buf = ReplayBuffer(4, (1,))
  buf.add(np.zeros(1, np.uint8), 0, 0.0, terminal=False, continues=False)
  with pytest.raises(OfflineScalingError, match="no complete transition"):
    buf.sample(np.random.default_rng(0), 2)


def _small_config(frames=3_000, checkpoints=3):
  c = online_dqn.default_config()
  c.frames, c.checkpoints = frames, checkpoints
  c.min_replay_history = 200
  c.agent.epsilon_warmup_steps = 200
  c.agent.epsilon_decay_steps = 1_000
  c.hidden = 16
  return c


def test_the_log_holds_each_checkpoints_episodes_and_its_policy_row(tmp_path):
  c = _small_config()
  out, other = online_dqn.train_runs("breakout", [1, 2], tmp_path, c)   # in lockstep
  rows = policy_table.read_policy_table(tmp_path / "breakout")
  assert [r.policy_id for r in rows] == [f"breakout/run_{k}/{i}" for k in (1, 2)
                                         for i in range(3)]
  # Independent runs: their own seeds, so their own games.
  a, b = (list(episodes_lib.read_shard(d / "episodes/000.tfrecord")) for d in (out, other))
  assert [e.length for e in a] != [e.length for e in b]
  rows = rows[:3]
  progress = [json.loads(l) for l in (out / "progress.jsonl").read_text().splitlines()]
  assert [p["frames"] for p in progress] == [1_000, 2_000, 3_000]
  assert progress[-1]["updates"] == (3_000 - 200) // 4
  total = 0
  for row in rows:
    eps = list(episodes_lib.read_shard(tmp_path / "breakout" / row.shard))
    assert len(eps) == row.num_episodes and sum(e.length for e in eps) == row.num_steps
    assert row.checkpoint_step == 1_000 * (1 + int(row.policy_id.rsplit("/", 1)[1]))
    clipped = [np.clip(e.rewards, -1, 1).sum() for e in eps]
    assert row.value == pytest.approx(np.mean(clipped))
    for e in eps:
      assert e.observations.dtype == np.uint8 and e.observations.shape[1:] == (10, 10, 4)
      assert e.terminated and e.policy_id == row.policy_id
    total += row.num_steps
  # Every frame played is in a logged episode, but for the unfinished last one.
  assert 3_000 - 200 < total <= 3_000
  snapshots = checkpoints.manager(out / "snapshots")
  assert sorted(snapshots.all_steps()) == [1_000, 2_000, 3_000]


def test_a_resumed_run_differs_in_settings_is_refused(tmp_path):
  online_dqn.train_run("breakout", 1, tmp_path, _small_config(1_000, 1))
  with pytest.raises(OfflineScalingError, match="other settings .*frames"):
    online_dqn.train_run("breakout", 1, tmp_path, _small_config(2_000, 1))


_CHILD = """
import sys
from offline_scaling.train import online_dqn
sys.path.insert(0, {tests!r})
from test_online_dqn import _small_config
online_dqn.train_run("breakout", 2, {workdir!r}, _small_config(4_000, 4))
"""


def test_a_killed_run_resumes_to_the_uninterrupted_runs_log(tmp_path):
  whole, killed = tmp_path / "whole", tmp_path / "killed"
  online_dqn.train_run("breakout", 2, whole, _small_config(4_000, 4))
  code = _CHILD.format(tests=os.path.dirname(__file__), workdir=str(killed))
  proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
  progress = killed / "breakout" / "run_2" / "progress.jsonl"
  deadline = time.time() + 300
  while time.time() < deadline and proc.poll() is None:
    if progress.exists() and len(progress.read_text().splitlines()) >= 2:
      break
    time.sleep(0.05)
  assert proc.poll() is None, "the run ended before it could be killed"
  os.killpg(proc.pid, signal.SIGKILL)
  proc.wait()
  assert len(progress.read_text().splitlines()) < 4
  online_dqn.train_run("breakout", 2, killed, _small_config(4_000, 4))
  for i in range(4):
    shard = f"breakout/run_2/episodes/{i:03d}.tfrecord"
    # Parsed, not bytes: protobuf orders a feature map by the process's hash seed.
    a, b = (list(episodes_lib.read_shard(d / shard)) for d in (whole, killed))
    assert len(a) == len(b) and len(a) > 0, shard
    for x, y in zip(a, b):
      np.testing.assert_array_equal(x.observations, y.observations)
      np.testing.assert_array_equal(x.actions, y.actions)
      np.testing.assert_array_equal(x.rewards, y.rewards)
  a, b = (checkpoints.restore(checkpoints.manager(d / "breakout/run_2/snapshots"), 4_000, None)[0]
          for d in (whole, killed))
  flat = lambda t: np.concatenate([np.ravel(x) for x in jax.tree.leaves(t)])
  np.testing.assert_array_equal(flat(a), flat(b))
  strip = lambda p: [{k: v for k, v in json.loads(l).items() if k not in ("wall_s", "steps_per_s")}
                     for l in p.read_text().splitlines()]
  assert strip(whole / "breakout/run_2/progress.jsonl") == strip(progress)
