"""`experiments.atari_generate`: real ALE play in both formats, read back by the sources."""

import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import run_script

from offline_scaling.data import dopamine_atari, rlu_atari
from offline_scaling.data.episodes import Episode
from offline_scaling.data.rlu_atari import RLUAtariSource

GAME, CHECKPOINTS, STEPS = "Breakout", 3, 300
ARGS = ["--game=breakout", f"--checkpoints={CHECKPOINTS}", f"--steps_per_checkpoint={STEPS}"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
  """Breakout runs 1-2 as RL Unplugged files (one checkpoint pre-made), run 1 as Dopamine logs."""
  rlu, dopamine = tmp_path_factory.mktemp("rlu"), tmp_path_factory.mktemp("dopamine")
  # A checkpoint already there, as a killed generation leaves it: the script must keep it.
  done = rlu / rlu_atari.file_name(GAME, 1, 1, CHECKPOINTS)
  rlu_atari.write_file(done, [Episode(observations=np.zeros((3, 84, 84), np.uint8),
                                      actions=np.zeros(2), rewards=np.ones(2), terminated=True,
                                      checkpoint_step=1)])
  mtime = done.stat().st_mtime_ns
  procs = [run_script("experiments.atari_generate", *ARGS, "--runs=2", f"--out={rlu}"),
           run_script("experiments.atari_generate", *ARGS, "--runs=1", f"--out={dopamine}",
                      "--format=dopamine")]
  for proc in procs:
    assert proc.returncode == 0, proc.stderr[-2000:]
  assert done.stat().st_mtime_ns == mtime
  return rlu, dopamine, procs[0].stdout


def _by_key(ds):
  return sorted(ds.as_numpy_iterator(), key=lambda e: (e["policy_id"], e["episode_index"]))


def test_files_and_resume(generated):
  rlu, dopamine, stdout = generated
  assert sorted(os.listdir(rlu / GAME)) == sorted(
      os.path.basename(rlu_atari.file_name(GAME, run, k, CHECKPOINTS))
      for run in (1, 2) for k in range(CHECKPOINTS))
  assert "run 1 checkpoint 1:" not in stdout and stdout.count("checkpoint") == 2 * CHECKPOINTS - 1
  assert dopamine_atari.checkpoints_in(
      dopamine_atari.replay_dir(dopamine, GAME, 1)) == list(range(CHECKPOINTS))


def test_rlu_reader_matches_the_raw_records(generated):
  rlu, _, _ = generated
  source = RLUAtariSource(rlu, GAME, runs=[2])
  for k in range(CHECKPOINTS):
    path = rlu / rlu_atari.file_name(GAME, 2, k, CHECKPOINTS)
    raw = [tf.train.Example.FromString(r).features.feature for r in
           tf.data.TFRecordDataset(str(path), compression_type="GZIP").as_numpy_iterator()]
    read = _by_key(source.episodes([f"{GAME}/run_2/ckpt_{k}"]))
    assert len(read) == len(raw) >= 1
    for i, (r, f) in enumerate(zip(read, raw)):
      values = lambda name, kind: np.array(getattr(f[name], kind).value)
      n = len(values("actions", "int64_list"))
      assert values("checkpoint_idx", "int64_list") == [k]
      assert values("episode_idx", "int64_list") == [i]
      frames = np.stack([tf.io.decode_png(png).numpy()[..., 0]
                         for png in values("observations", "bytes_list")])
      assert frames.shape == (n, 84, 84) and frames.std() > 0  # real, changing game frames
      np.testing.assert_array_equal(r["observations"], frames)
      np.testing.assert_array_equal(r["actions"], values("actions", "int64_list")[:-1])
      np.testing.assert_array_equal(r["rewards"], values("clipped_rewards", "float_list")[:-1])
      np.testing.assert_array_equal(r["discounts"], values("discounts", "float_list")[1:])
      # returns in DQN Replay's clipped unit; the file also holds the game score
      assert r["episode_return"] == values("clipped_episode_return", "float_list")[0]
      assert r["episode_return"] == pytest.approx(values("clipped_rewards", "float_list").sum())
      assert values("episode_return", "float_list")[0] == pytest.approx(
          values("unclipped_rewards", "float_list").sum())


def test_policy_values_match_the_episodes_and_improve(generated):
  rlu, _, _ = generated
  source = RLUAtariSource(rlu, GAME, runs=[2])
  table = source.policies()
  for p in table:
    read = _by_key(source.episodes([p.policy_id]))
    assert p.num_episodes == len(read) and p.num_steps == sum(len(e["actions"]) for e in read)
    assert p.num_steps >= STEPS
    assert p.value == pytest.approx(np.mean([e["episode_return"] for e in read]))
  values = [p.value for p in table]
  assert values[-1] > values[0] + 5


def test_dopamine_logs_hold_the_same_play(generated):
  # Same seed, run and checkpoint: the same episodes, as Dopamine stores them.
  rlu, dopamine, _ = generated
  via_rlu = RLUAtariSource(rlu, GAME, runs=[1])
  via_dopamine = dopamine_atari.DopamineAtariSource(dopamine, GAME, runs=[1])
  for k in (0, 2):  # checkpoint 1 of the RL Unplugged run was not played by the script
    pid = f"{GAME}/run_1/ckpt_{k}"
    a, b = _by_key(via_rlu.episodes([pid])), _by_key(via_dopamine.episodes([pid]))
    assert len(a) == len(b)
    for x, y in zip(a, b):
      terminal = x["discounts"][-1] == 0
      L = len(x["actions"]) - (not terminal)  # a capped episode loses its last step
      for key in ("actions", "rewards", "discounts"):
        np.testing.assert_array_equal(y[key], x[key][:L], err_msg=key)
      np.testing.assert_array_equal(y["observations"][:L + 1 - terminal],
                                    x["observations"][:L + 1 - terminal])
      assert y["episode_return"] == pytest.approx(np.sum(x["rewards"]))  # clipped
  dopamine_table = via_dopamine.policies()
  assert dopamine_table[2].value > dopamine_table[0].value
