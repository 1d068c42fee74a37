import json

import numpy as np
import pytest
import tensorflow as tf

from offline_scaling import OfflineScalingError
from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import policy_table


def _episode(L, D=5, terminated=True, index=0, seed=0):
  rng = np.random.default_rng(seed + index)
  return ep_lib.Episode(observations=rng.normal(size=(L + 1, D)).astype(np.float32),
                        actions=rng.integers(0, 32, L), rewards=rng.normal(size=L).astype(
                            np.float32), terminated=terminated, policy_id="hopper/seed_2/40000",
                        env="hopper", seed=2, checkpoint_step=40000, index=index)


def _assert_same(a, b):
  for field in ("observations", "actions", "rewards"):
    np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert getattr(a, field).dtype == getattr(b, field).dtype
  for field in ("terminated", "policy_id", "env", "seed", "checkpoint_step", "index"):
    assert getattr(a, field) == getattr(b, field)


def test_shard_round_trip_field_by_field(tmp_path):
  written = [_episode(L, terminated=L % 2 == 0, index=i) for i, L in enumerate([1, 7, 30, 1000])]
  path = ep_lib.write_shard(tmp_path / "a" / "shard.tfrecord", written)
  assert not list(tmp_path.rglob("*.tmp"))
  read = list(ep_lib.read_shard(path))
  assert len(read) == len(written)
  for a, b in zip(written, read):
    _assert_same(a, b)


def test_rlds_step_flags(tmp_path):
  path = ep_lib.write_shard(tmp_path / "s.tfrecord", [_episode(3, terminated=True)])
  ex = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset(str(path)))).numpy())
  f = lambda k: list(getattr(ex.features.feature[k], "int64_list").value or
                     ex.features.feature[k].float_list.value)
  assert f("steps/is_first") == [1, 0, 0, 0]
  assert f("steps/is_last") == [0, 0, 0, 1]
  assert f("steps/is_terminal") == [0, 0, 0, 1]
  assert f("steps/discount") == [1, 1, 0, 0]


def test_truncated_shard_names_the_file(tmp_path):
  path = ep_lib.write_shard(tmp_path / "s.tfrecord", [_episode(50, index=i) for i in range(3)])
  data = path.read_bytes()
  path.write_bytes(data[: len(data) - 100])
  with pytest.raises(OfflineScalingError, match="s.tfrecord.*truncated or corrupt"):
    list(ep_lib.read_shard(path))


def test_corrupt_shard_names_the_file(tmp_path):
  path = ep_lib.write_shard(tmp_path / "s.tfrecord", [_episode(50)])
  data = bytearray(path.read_bytes())
  data[200:210] = b"xxxxxxxxxx"
  path.write_bytes(bytes(data))
  with pytest.raises(OfflineScalingError, match="s.tfrecord"):
    list(ep_lib.read_shard(path))


def test_missing_shard(tmp_path):
  with pytest.raises(OfflineScalingError, match="nope.tfrecord.*does not exist"):
    list(ep_lib.read_shard(tmp_path / "nope.tfrecord"))


def test_missing_feature_names_file_record_and_field(tmp_path):
  ex = tf.train.Example.FromString(ep_lib.to_example(_episode(4)))
  del ex.features.feature["steps/reward"]
  path = tmp_path / "bad.tfrecord"
  with tf.io.TFRecordWriter(str(path)) as w:
    w.write(ep_lib.to_example(_episode(4)))
    w.write(ex.SerializeToString())
  with pytest.raises(OfflineScalingError, match=r"bad.tfrecord: record 1 .*'steps/reward'"):
    list(ep_lib.read_shard(path))


def test_policy_table_round_trip_and_bad_rows(tmp_path):
  eps = [_episode(10, index=i) for i in range(4)]
  record = policy_table.summarize(eps, "shards/x.tfrecord")
  assert record.num_episodes == 4 and record.num_steps == 40
  np.testing.assert_allclose(record.value, np.mean([e.episode_return for e in eps]))
  policy_table.write_policy_table(tmp_path / "policy_table.json", [record])
  assert policy_table.read_policy_table(tmp_path) == [record]

  table = json.loads((tmp_path / "policy_table.json").read_text())
  del table["policies"][0]["value"]
  (tmp_path / "policy_table.json").write_text(json.dumps(table))
  with pytest.raises(OfflineScalingError, match=r"row 0 lacks field\(s\) \['value'\]"):
    policy_table.read_policy_table(tmp_path)
  with pytest.raises(OfflineScalingError, match="does not exist"):
    policy_table.read_policy_table(tmp_path / "missing.json")


def test_rewriting_a_table_or_a_shard_replaces_it(tmp_path):
  """A resumed collection rewrites the policy table; a policy killed between its
  shard and its row is collected again over the old shard."""
  eps = [_episode(3), _episode(5, index=1)]
  shard = ep_lib.write_shard(tmp_path / "p.tfrecord", eps[:1])
  ep_lib.write_shard(shard, eps)
  assert len(list(ep_lib.read_shard(shard))) == 2
  table = tmp_path / policy_table.TABLE_NAME
  records = [policy_table.summarize(eps, "p.tfrecord")]
  policy_table.write_policy_table(table, records)
  policy_table.write_policy_table(table, records * 2)
  assert len(policy_table.read_policy_table(table)) == 2


def _rewrite_table_many_times(path, records, times):
  for _ in range(times):
    policy_table.write_policy_table(path, records)


def test_processes_rewriting_one_table_at_once(tmp_path):
  """The collect stage's tasks each rewrite the table when they finish: writers
  racing on one file must neither fail nor leave a partial table."""
  import multiprocessing  # pylint: disable=g-import-not-at-top
  records = [policy_table.PolicyRecord(policy_id=f"hopper/seed_0/{i}", env="hopper", seed=0,
                                       checkpoint_step=i, value=float(i), std=0.0,
                                       num_episodes=1, num_steps=10, shard=f"s{i}")
             for i in range(200)]
  path = tmp_path / policy_table.TABLE_NAME
  ctx = multiprocessing.get_context("fork")
  workers = [ctx.Process(target=_rewrite_table_many_times, args=(path, records, 100))
             for _ in range(3)]
  for w in workers:
    w.start()
  for w in workers:
    w.join()
  assert [w.exitcode for w in workers] == [0, 0, 0]
  assert len(policy_table.read_policy_table(path)) == 200
  assert not list(tmp_path.glob("*.tmp"))
