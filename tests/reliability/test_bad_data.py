"""Bad data: each fault is refused naming the file and record, or skipped and counted.

Faults are made in real files: PyBullet episode shards (TFRecord) with a
policy table, and RL Unplugged Atari files with PNG frames. Skippable faults
(no transitions, NaN rewards, a missing step feature) are dropped with
`skip_bad_episodes` and counted; file damage (truncation, a corrupt frame)
and a table that disagrees with the shards are always refused.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_script
from offline_scaling import OfflineScalingError
from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import pipeline
from offline_scaling.data.rlu_atari import RLUAtariSource, file_name, write_file
from offline_scaling.data.sources import PybulletSource
from synthetic import make_source


def _stream_config(**kw):
  c = pipeline.default_config()
  c.update(batch_size=16, shuffle_block=64, with_ids=True, **kw)
  return c


def _rewrite_record(path, record, change):
  """Rewrites record `record` of a shard through `change(tf.train.Example)`."""
  data = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
  ex = tf.train.Example.FromString(data[record])
  change(ex)
  data[record] = ex.SerializeToString()
  with tf.io.TFRecordWriter(str(path)) as w:
    for d in data:
      w.write(d)


def _nan_reward(ex):
  rewards = list(ex.features.feature["steps/reward"].float_list.value)
  rewards[0] = float("nan")
  ex.features.feature["steps/reward"].float_list.value[:] = rewards


def _no_steps(ex):
  """The episode cut to zero transitions (only o_0), as a writer would store it."""
  ep = ep_lib.from_example(ex.SerializeToString())
  ep.observations, ep.actions, ep.rewards = ep.observations[:1], ep.actions[:0], ep.rewards[:0]
  ex.CopyFrom(tf.train.Example.FromString(ep_lib.to_example(ep)))


def _no_action(ex):
  del ex.features.feature["steps/action"]


SKIPPABLE = {"nan_reward": (_nan_reward, "has non-finite rewards or return"),
             "zero_steps": (_no_steps, "has no transitions"),
             "missing_feature": (_no_action, "record 1 has no feature 'steps/action'")}


@pytest.fixture
def data(tmp_path):
  source = make_source(tmp_path, num_policies=3, episodes_per_policy=3, obs_dim=15)
  return tmp_path, [p.policy_id for p in source.policies()]


@pytest.mark.parametrize("fault", SKIPPABLE)
def test_skippable_fault_is_refused_then_skipped_and_counted(data, fault):
  root, ids = data
  change, message = SKIPPABLE[fault]
  shard = root / "shards" / "pol1.tfrecord"
  bad_length = list(ep_lib.read_shard(shard))[1].length
  _rewrite_record(shard, 1, change)
  source = PybulletSource(root)

  with pytest.raises(OfflineScalingError, match=f"pol1.tfrecord.*record 1.*{message}|"
                                                f"pol1.tfrecord: {message}") as e:
    pipeline.dataset_stats(source, ids)
  assert "\n" not in str(e.value)
  with pytest.raises(OfflineScalingError, match="pol1.tfrecord"):  # the stream alone refuses too
    list(pipeline.make_stream(source, ids, _stream_config()))

  stats = pipeline.dataset_stats(source, ids, skip_bad_episodes=True)
  assert stats.skipped_episodes == 1 and "record 1 (policy 'pol1')" in stats.skipped[0]
  seen = [(p.decode(), int(i)) for b in pipeline.make_stream(
      source, ids, _stream_config(skip_bad_episodes=True))
          for p, i in zip(b["policy_id"][0], b["episode_index"][0])]
  assert ("pol1", 1) not in seen
  assert len(seen) == stats.num_transitions
  whole = sum(r.num_steps for r in source.policies())
  assert stats.num_transitions == whole - bad_length


def test_truncated_shard_is_refused_even_when_skipping(data):
  root, ids = data
  shard = root / "shards" / "pol2.tfrecord"
  shard.write_bytes(shard.read_bytes()[:-40])
  for skip in (False, True):
    with pytest.raises(OfflineScalingError,
                       match=r"pol2.tfrecord' is truncated or corrupt after record 2"):
      pipeline.dataset_stats(PybulletSource(root), ids, skip_bad_episodes=skip)


def _edit_table(root, change):
  table = json.loads((root / "policy_table.json").read_text())
  change({r["policy_id"]: r for r in table["policies"]})
  (root / "policy_table.json").write_text(json.dumps(table))


@pytest.mark.parametrize("change,message", [
    (lambda t: t["pol1"].update(num_episodes=4),
     r"table says policy 'pol1' has \{'episodes': 4.*shard 'shards/pol1.tfrecord' holds "
     r"\{'episodes': 3"),
    (lambda t: t["pol2"].update(value=t["pol2"]["value"] + 1.0),
     r"table says policy 'pol2' has .*'value'.*but its shard 'shards/pol2.tfrecord'"),
    (lambda t: t["pol2"].update(shard=t["pol0"]["shard"]),
     r"episode 0 of policy 'pol0' was read from the files of policies \['pol1', 'pol2'\]"),
    (lambda t: t["pol2"].update(value=float("nan")),
     r"policy_table.json': row 2 \(pol2\) has value nan"),
])
def test_a_policy_table_that_disagrees_with_the_shards_is_refused(data, change, message):
  root, _ = data
  _edit_table(root, change)
  with pytest.raises(OfflineScalingError, match=message):
    pipeline.dataset_stats(PybulletSource(root), ["pol1", "pol2"])


def test_corrupt_png_frame_names_the_file_and_record(tmp_path):
  rng = np.random.default_rng(0)
  eps = [ep_lib.Episode(observations=rng.integers(0, 255, (L + 1, 84, 84), dtype=np.uint8),
                        actions=rng.integers(0, 6, L), rewards=np.ones(L, np.float32),
                        terminated=True, checkpoint_step=0, index=i)
         for i, L in enumerate([4, 6, 5])]
  path = tmp_path / file_name("Pong", 1, 0, 1)
  write_file(path, eps)
  data = list(tf.data.TFRecordDataset(str(path), compression_type="GZIP").as_numpy_iterator())
  ex = tf.train.Example.FromString(data[1])
  png = bytearray(ex.features.feature["observations"].bytes_list.value[3])
  png[len(png) // 2] ^= 0xFF   # one flipped byte inside the image data: its CRC fails
  ex.features.feature["observations"].bytes_list.value[3] = bytes(png)
  data[1] = ex.SerializeToString()
  with tf.io.TFRecordWriter(str(path), options="GZIP") as w:
    for d in data:
      w.write(d)
  source = RLUAtariSource(tmp_path, "pong", runs=[1], checkpoints=[0])
  (policy,) = [p.policy_id for p in source.policies()]  # the table pass reads no frames
  for skip in (False, True):
    with pytest.raises(OfflineScalingError,
                       match=r"run_1-00000-of-00001 \(policy 'Pong/run_1/ckpt_0'\): record 1 "
                             r"cannot be read: Invalid PNG data"):
      pipeline.dataset_stats(source, [policy], skip_bad_episodes=skip)


@pytest.mark.slow
def test_a_run_refuses_or_skips_and_reports_in_its_result(data):
  root, _ = data
  _rewrite_record(root / "shards" / "pol2.tfrecord", 0, _nan_reward)
  args = ["experiments.pybullet_bc", f"--data={root}", f"--workdir={root / 'runs'}",
          "--steps=20", "--batch_size=8", "--param_count=2000", "--eval_episodes=1",
          "--num_policies=3", "--config.train.updates_per_call=10",
          "--config.train.log_every=10", "--config.train.checkpoint_every=10",
          "--config.stream.shuffle_block=64"]
  proc = run_script(*args)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr
  (line,) = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
  assert "shards/pol2.tfrecord': record 0 (policy 'pol2') has non-finite rewards" in line
  assert not list((root / "runs").glob("*/checkpoints"))   # refused before any training

  proc = run_script(*args, "--skip_bad_episodes")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "skipped 1 bad episodes" in proc.stdout
  (result,) = (root / "runs").glob("*/result.json")
  dataset = json.loads(result.read_text())["dataset"]
  assert dataset["skipped_episodes"] == 1 and dataset["num_episodes"] == 8
  assert "record 0 (policy 'pol2')" in dataset["skipped"][0]
