"""The RL Unplugged raw-file reader and writer: round trips, the public spec, bad files."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from offline_scaling import OfflineScalingError
from offline_scaling.data import rlu_atari
from offline_scaling.data.episodes import Episode
from offline_scaling.data.rlu_atari import RLUAtariSource

GAME, CHECKPOINTS = "SpaceInvaders", 3


def _synthetic(run, checkpoint, rng):
  """A checkpoint's episodes: random frames, unclipped rewards, some cut by the cap."""
  return [Episode(observations=rng.integers(0, 256, (L + 1, 84, 84), dtype=np.uint8),
                  actions=rng.integers(0, 6, L), rewards=rng.choice([0.0, 5.0, -1.0, 30.0], L),
                  terminated=bool(rng.random() < 0.7), checkpoint_step=checkpoint, index=i)
          for i, L in enumerate(rng.integers(1, 25, 2 + checkpoint))]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
  """Runs 1 and 2 of SpaceInvaders as written by `write_file`, and the episodes written."""
  out = tmp_path_factory.mktemp("rlu")
  rng = np.random.default_rng(0)
  episodes = {}
  for run in (1, 2):
    for k in range(CHECKPOINTS):
      episodes[run, k] = _synthetic(run, k, rng)
      rlu_atari.write_file(out / rlu_atari.file_name(GAME, run, k, CHECKPOINTS), episodes[run, k])
  return out, episodes


def _episodes(source, policy_ids, ranges=None):
  return sorted(source.episodes(policy_ids, ranges).as_numpy_iterator(),
                key=lambda e: (e["policy_id"], e["episode_index"]))


def test_reader_gives_back_the_written_episodes_field_by_field(written):
  out, episodes = written
  source = RLUAtariSource(out, "space_invaders", runs=[1, 2])
  for (run, k), written_episodes in episodes.items():
    pid = f"{GAME}/run_{run}/ckpt_{k}"
    read = _episodes(source, [pid])
    assert len(read) == len(written_episodes)
    for i, (r, w) in enumerate(zip(read, written_episodes)):
      assert r["policy_id"] == pid.encode() and r["episode_index"] == i
      assert r["observations"].dtype == np.uint8 and r["actions"].dtype == np.int32
      np.testing.assert_array_equal(r["observations"], w.observations)
      np.testing.assert_array_equal(r["actions"], w.actions)
      np.testing.assert_array_equal(r["rewards"], np.clip(w.rewards, -1, 1))
      expected_discounts = np.ones(w.length, np.float32)
      expected_discounts[-1] = 0.0 if w.terminated else 1.0
      np.testing.assert_array_equal(r["discounts"], expected_discounts)
      # clipped, the unit of DQN Replay's returns (the game score was 5s and 30s)
      assert r["episode_return"] == pytest.approx(np.clip(w.rewards, -1, 1).sum())


def test_policy_table_matches_the_episodes(written):
  out, episodes = written
  table = RLUAtariSource(out, GAME, runs=[1, 2], checkpoints=range(40)).policies()
  assert [p.policy_id for p in table] == [f"{GAME}/run_{n}/ckpt_{k}"
                                          for n in (1, 2) for k in range(CHECKPOINTS)]
  for p in table:
    mine = episodes[p.seed, p.checkpoint_step]
    assert p.env == GAME and p.policy_id == f"{GAME}/run_{p.seed}/ckpt_{p.checkpoint_step}"
    assert p.num_episodes == len(mine) and p.num_steps == sum(e.length for e in mine)
    clipped = [np.clip(e.rewards, -1, 1).sum() for e in mine]
    assert p.value == pytest.approx(np.mean(clipped))
    assert p.std == pytest.approx(np.std(clipped), abs=1e-4)
    assert (out / p.shard).exists() and p.shard.startswith(f"{GAME}/run_{p.seed}-")
  subset = RLUAtariSource(out, GAME, runs=[2], checkpoints=[1, 2]).policies()
  assert [p.policy_id for p in subset] == [f"{GAME}/run_2/ckpt_1", f"{GAME}/run_2/ckpt_2"]


def test_episode_ranges_keep_only_those_episodes(written):
  out, episodes = written
  source = RLUAtariSource(out, GAME, runs=[1])
  ids = [f"{GAME}/run_1/ckpt_2", f"{GAME}/run_1/ckpt_1"]
  read = _episodes(source, ids, {ids[0]: (1, 3), "SpaceInvaders/run_9/ckpt_0": (0, 1)})
  kept = [(e["policy_id"].decode(), int(e["episode_index"])) for e in read]
  assert kept == ([(ids[1], i) for i in range(len(episodes[1, 1]))]
                  + [(ids[0], 1), (ids[0], 2)])


def test_policy_table_is_cached_and_recomputed_when_files_change(written, monkeypatch, tmp_path):
  out, _ = written
  data = tmp_path / "data"
  shutil.copytree(out, data, ignore=shutil.ignore_patterns("*.json"))
  expected = RLUAtariSource(data, GAME, runs=[1]).policies()
  cache = data / GAME / "run_1.policy_table.json"
  assert len(json.loads(cache.read_text())["files"]) == CHECKPOINTS

  def no_scan(path):
    raise AssertionError(f"scanned {path}")

  monkeypatch.setattr(rlu_atari, "summarize_file", no_scan)
  assert RLUAtariSource(data, GAME, runs=[1]).policies() == expected
  with open(data / rlu_atari.file_name(GAME, 1, 2, CHECKPOINTS), "ab") as f:
    f.write(b"\0")  # a changed file invalidates the cache
  with pytest.raises(AssertionError, match="scanned"):
    RLUAtariSource(data, GAME, runs=[1]).policies()


def test_cache_falls_back_to_cache_dir_when_data_is_not_writable(written, monkeypatch, tmp_path):
  out, _ = written
  data = tmp_path / "data"
  shutil.copytree(out, data, ignore=shutil.ignore_patterns("*.json"))
  write = rlu_atari.policy_table_lib.write_json_atomic

  def read_only_data(path, obj):
    if str(path).startswith(str(data)):
      raise PermissionError(f"read-only: {path}")
    write(path, obj)

  monkeypatch.setattr(rlu_atari.policy_table_lib, "write_json_atomic", read_only_data)
  RLUAtariSource(data, GAME, runs=[2], cache_dir=tmp_path / "cache").policies()
  assert (tmp_path / "cache" / GAME / "run_2.policy_table.json").exists()
  assert not (data / GAME / "run_2.policy_table.json").exists()


def _feature(kind, values):
  cls = {"int64_list": tf.train.Int64List, "float_list": tf.train.FloatList,
         "bytes_list": tf.train.BytesList}[kind]
  return tf.train.Feature(**{kind: cls(value=values)})


def _public_spec_example(frames, actions, unclipped, discounts, checkpoint, episode):
  """An episode exactly as the public spec lays it out, written without the library."""
  clipped = np.clip(unclipped, -1, 1)
  return tf.train.Example(features=tf.train.Features(feature={
      "checkpoint_idx": _feature("int64_list", [checkpoint]),
      "episode_idx": _feature("int64_list", [episode]),
      "episode_return": _feature("float_list", [float(np.sum(unclipped))]),
      "clipped_episode_return": _feature("float_list", [float(np.sum(clipped))]),
      "observations": _feature("bytes_list", [tf.io.encode_png(f[..., None]).numpy()
                                               for f in frames]),
      "actions": _feature("int64_list", list(actions)),
      "unclipped_rewards": _feature("float_list", list(unclipped)),
      "clipped_rewards": _feature("float_list", list(clipped)),
      "discounts": _feature("float_list", list(discounts)),
  }))


@pytest.fixture
def public_file(tmp_path):
  """Three episodes of run 3, checkpoint 7 of Pong, in a file of the public name and format."""
  rng = np.random.default_rng(0)
  episodes = []
  for i, (n, terminal) in enumerate([(6, True), (5, False), (40, True)]):
    frames = rng.integers(0, 256, (n, 84, 84), dtype=np.uint8)
    actions = rng.integers(0, 6, n)
    unclipped = rng.choice([0.0, -3.0, 2.0, 7.0], n)
    unclipped[-1] = 0.0  # the last step's reward is padding
    discounts = np.ones(n)
    discounts[-1] = 0.0 if terminal else 1.0
    episodes.append((frames, actions, unclipped, discounts))
  path = tmp_path / "Pong" / "run_3-00007-of-00050"
  path.parent.mkdir()
  with tf.io.TFRecordWriter(str(path), options="GZIP") as w:
    for i, ep in enumerate(episodes):
      w.write(_public_spec_example(*ep, checkpoint=7, episode=100 + i).SerializeToString())
  return path, episodes


def test_a_file_in_the_public_spec_is_read_with_its_alignment(public_file):
  path, episodes = public_file
  source = RLUAtariSource(path.parent.parent, "pong", runs=[3])
  (record,) = source.policies()
  assert record.policy_id == "Pong/run_3/ckpt_7" and record.shard == "Pong/run_3-00007-of-00050"
  assert record.num_episodes == 3 and record.num_steps == 5 + 4 + 39
  assert record.value == pytest.approx(np.mean([np.clip(e[2], -1, 1).sum() for e in episodes]))
  read = _episodes(source, ["Pong/run_3/ckpt_7"])
  for i, (r, (frames, actions, unclipped, discounts)) in enumerate(zip(read, episodes)):
    L = len(actions) - 1
    assert r["episode_index"] == i
    np.testing.assert_array_equal(r["observations"], frames)  # o_0 … o_L: all N frames
    np.testing.assert_array_equal(r["actions"], actions[:L])
    np.testing.assert_array_equal(r["rewards"], np.clip(unclipped, -1, 1)[:L])
    np.testing.assert_array_equal(r["discounts"], discounts[1:])
    assert r["episode_return"] == pytest.approx(np.clip(unclipped, -1, 1).sum())
  assert read[0]["discounts"][-1] == 0.0 and read[1]["discounts"][-1] == 1.0


def _rewrite(path, change):
  """Rewrites the file's records through `change(tf.train.Example)`."""
  records = [tf.train.Example.FromString(r) for r in
             tf.data.TFRecordDataset(str(path), compression_type="GZIP").as_numpy_iterator()]
  with tf.io.TFRecordWriter(str(path), options="GZIP") as w:
    for i, ex in enumerate(records):
      change(i, ex)
      w.write(ex.SerializeToString())


def _drop_discounts(i, ex):
  if i == 1:
    del ex.features.feature["discounts"]


def _float_actions(i, ex):
  if i == 2:
    ex.features.feature["actions"].CopyFrom(_feature("float_list", [1.0] * 40))


def _no_checkpoint(i, ex):
  del ex.features.feature["checkpoint_idx"]


@pytest.mark.parametrize("damage,message", [
    ("truncate", r"is truncated or corrupt after record \d"),
    ("corrupt", r"is truncated or corrupt after record \d"),
    (_drop_discounts, r"record 1 has sequence features of lengths .*'discounts': 0"),
    (_float_actions, r"record 2 does not match the RL Unplugged Atari spec"),
    (_no_checkpoint, r"record 0 does not match the RL Unplugged Atari spec.*checkpoint_idx"),
])
def test_bad_files_name_the_file(public_file, damage, message):
  path, _ = public_file
  data = path.read_bytes()
  if damage == "truncate":
    path.write_bytes(data[:len(data) * 2 // 3])
  elif damage == "corrupt":
    path.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF])
                     + data[len(data) // 2 + 1:])
  else:
    _rewrite(path, damage)
  with pytest.raises(OfflineScalingError, match=message) as e:
    RLUAtariSource(path.parent.parent, "pong", runs=[3]).policies()
  assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_missing_files_and_unknown_policies(public_file, tmp_path):
  with pytest.raises(OfflineScalingError, match=r"run 1 is missing \(no RL Unplugged Atari files "
                     r"match '.*run_1-\*-of-\*'\): no other run is there either: check --data_dir"):
    RLUAtariSource(tmp_path / "empty", "pong", runs=[1]).policies()
  path, _ = public_file
  with pytest.raises(OfflineScalingError, match=r"run 1 is missing \(.*\): pass --runs=3 to read "
                     "only the runs you have"):
    RLUAtariSource(path.parent.parent, "pong", runs=[1, 3]).policies()
  with pytest.raises(OfflineScalingError, match=r"'Pong/run_3/ckpt_8'\] are not among"):
    RLUAtariSource(path.parent.parent, "pong", runs=[3]).episodes(["Pong/run_3/ckpt_8"])


def test_a_table_cached_before_values_were_clipped_is_computed_again(written, tmp_path):
  """Version 1 tables held the game score on generated files; they are stale now."""
  import json
  import shutil
  out, episodes = written
  copy = tmp_path / "rlu"
  shutil.copytree(out, copy)
  fresh = RLUAtariSource(copy, GAME, runs=[1]).policies()
  (cache,) = copy.glob(f"{GAME}/run_1.policy_table.json")
  old = json.loads(cache.read_text())
  assert old["version"] == rlu_atari.TABLE_VERSION
  old["version"] = 1
  for row in old["policies"]:
    row["value"] = 1e6
  cache.write_text(json.dumps(old))
  assert [p.value for p in RLUAtariSource(copy, GAME, runs=[1]).policies()] == [
      p.value for p in fresh]
