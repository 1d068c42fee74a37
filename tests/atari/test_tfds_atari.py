"""The tfds source on a real `rlu_atari_checkpoints_ordered` dataset prepared here."""

import dataclasses

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.rl_unplugged.rlu_atari_checkpoints_ordered import (
    rlu_atari_checkpoints_ordered as tfds_builder)

from offline_scaling import OfflineScalingError
from offline_scaling.data import rlu_atari
from offline_scaling.data.episodes import Episode
from offline_scaling.data.rlu_atari import RLUAtariSource
from offline_scaling.data.tfds_atari import TfdsAtariSource

CHECKPOINTS = 3


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
  """Raw files of Pong run 1 (3 checkpoints), and the dataset tfds' builder prepares from them."""
  # tfds needs importlib_resources to prepare (not to read) a dataset.
  pytest.importorskip("importlib_resources", reason="tfds needs it to prepare datasets")
  raw, data_dir = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("tfds")
  rng = np.random.default_rng(0)
  for k in range(CHECKPOINTS):
    episodes = []
    for i in range(3 + k):
      L = int(rng.integers(3, 20))
      episodes.append(Episode(
          observations=rng.integers(0, 256, (L + 1, 84, 84), dtype=np.uint8),
          actions=rng.integers(0, 6, L), rewards=rng.choice([0.0, 1.0, -1.0, 4.0], L),
          terminated=i % 2 == 0, checkpoint_step=k, index=i))
    rlu_atari.write_file(raw / rlu_atari.file_name("Pong", 1, k, CHECKPOINTS), episodes)
  # As tfds' own test of this builder does: point it at local files.
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(tfds_builder.RluAtariCheckpointsOrdered, "_INPUT_FILE_PREFIX", str(raw))
    patch.setattr(tfds_builder.RluAtariCheckpointsOrdered, "_SHARDS", CHECKPOINTS)
    tfds.builder("rlu_atari_checkpoints_ordered/Pong_run_1", data_dir=str(data_dir)
                 ).download_and_prepare(
                     download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  return raw, data_dir


def _by_key(ds):
  return sorted(ds.as_numpy_iterator(), key=lambda e: (e["policy_id"], e["episode_index"]))


def test_tfds_source_equals_the_raw_source(prepared):
  raw, data_dir = prepared
  via_tfds = TfdsAtariSource(data_dir, "pong", runs=[1])
  via_raw = RLUAtariSource(raw, "pong", runs=[1])
  strip = lambda rows: [dataclasses.replace(r, shard="") for r in rows]
  assert strip(via_tfds.policies()) == strip(via_raw.policies())
  assert via_tfds.policies()[1].shard == ("rlu_atari_checkpoints_ordered/Pong_run_1/1.1.0/"
                                          "rlu_atari_checkpoints_ordered-checkpoint_01.*")
  ids = ["Pong/run_1/ckpt_2", "Pong/run_1/ckpt_0"]
  ranges = {"Pong/run_1/ckpt_2": (1, 3)}
  a, b = _by_key(via_tfds.episodes(ids, ranges)), _by_key(via_raw.episodes(ids, ranges))
  assert len(a) == len(b) == 2 + 3
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for key in x:
      np.testing.assert_array_equal(x[key], y[key], err_msg=key)
      assert np.asarray(x[key]).dtype == np.asarray(y[key]).dtype, key


def test_unprepared_run_and_unknown_policy(prepared):
  _, data_dir = prepared
  with pytest.raises(OfflineScalingError, match=r"run 2 is missing \(tfds dataset "
                     r"'rlu_atari_checkpoints_ordered/Pong_run_2' is not prepared under data_dir "
                     r".*\): pass --runs=1 to read only the runs you have"):
    TfdsAtariSource(data_dir, "pong", runs=[2]).policies()
  with pytest.raises(OfflineScalingError, match=r"\['Pong/run_1/ckpt_7'\] are not among"):
    TfdsAtariSource(data_dir, "pong", runs=[1]).episodes(["Pong/run_1/ckpt_7"])
