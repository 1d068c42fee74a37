import collections

import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.data import pipeline
from offline_scaling.data.sources import PybulletSource
from synthetic import make_source


def config(**kw):
  c = pipeline.default_config()
  c.batch_size, c.shuffle_block, c.cycle_length, c.chunk = 16, 50, 4, 8
  c.update(kw)
  return c


def batches(stream, seed=0):
  """Seed `seed`'s batches of a stream ([S, B, ...] per field -> [B, ...])."""
  for b in stream:
    yield {k: v[seed] for k, v in b.items()}


def all_transitions(source):
  ids = [p.policy_id for p in source.policies()]
  out = collections.Counter()
  for ep in source.episodes(ids).as_numpy_iterator():
    for t in range(len(ep["actions"])):
      out[(ep["policy_id"].decode(), int(ep["episode_index"]), t)] += 1
  return out


@pytest.mark.parametrize("hosts", [1, 3])
@pytest.mark.parametrize("algo", ["bc", "cql"])
def test_one_pass_delivers_every_transition_exactly_once(tmp_path, hosts, algo):
  source = make_source(tmp_path)
  ids = [p.policy_id for p in source.policies()]
  seen = collections.Counter()
  for h in range(hosts):
    for b in batches(pipeline.make_stream(source, ids, config(algo=algo, with_ids=True),
                                          host=(h, hosts))):
      for pid, e, t, obs in zip(b["policy_id"], b["episode_index"], b["step"], b["obs"]):
        seen[(pid.decode(), int(e), int(t))] += 1
        assert obs[2] == t and obs[1] == e  # the observation belongs to that step
  assert seen == all_transitions(source)


def test_stream_is_deterministic_and_resumes_exactly(tmp_path):
  source = make_source(tmp_path)
  ids = [p.policy_id for p in source.policies()]
  c = config(repeat=True)
  first = [b["obs"] for _, b in zip(range(12), pipeline.make_stream(source, ids, c))]
  again = [b["obs"] for _, b in zip(range(12), pipeline.make_stream(source, ids, c))]
  np.testing.assert_array_equal(first, again)
  stream = pipeline.make_stream(source, ids, c)
  for _ in range(5):
    next(stream)
  path = stream.save(str(tmp_path / "pos" / "stream"))
  resumed = pipeline.make_stream(source, ids, c)
  resumed.restore(path)
  np.testing.assert_array_equal([next(resumed)["obs"] for _ in range(7)], first[5:])
  other = [b["obs"] for _, b in zip(range(12), pipeline.make_stream(source, ids, config(
      repeat=True, seed=1)))]
  assert not np.array_equal(first, other)
  # A position saved by a stream built otherwise (here, for another number of seeds) or a
  # missing one is refused in one message naming it.
  for stream, saved in ((pipeline.make_stream(source, ids, config(repeat=True, num_seeds=2)),
                         path), (resumed, str(tmp_path / "nowhere"))):
    with pytest.raises(OfflineScalingError, match=f"stream position saved in {saved}: it is"):
      stream.restore(saved)


def test_n_step_targets_hand_computed():
  r = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
  terminal = np.array([1, 1, 1, 0], np.float32)
  reward, discount, k = (x.numpy() for x in pipeline.n_step_targets(r, terminal, 3, 0.5))
  np.testing.assert_allclose(reward, [1 + 1 + 0.75, 2 + 1.5 + 1, 3 + 2, 4])
  np.testing.assert_allclose(discount, [0.125, 0, 0, 0])
  np.testing.assert_array_equal(k, [3, 3, 2, 1])
  # Truncated by a time limit: bootstrap from o_L with γ^k.
  reward, discount, k = (x.numpy() for x in pipeline.n_step_targets(r, np.ones(4, np.float32),
                                                                    3, 0.5))
  np.testing.assert_allclose(discount, [0.125, 0.125, 0.25, 0.5])
  np.testing.assert_array_equal(k, [3, 3, 2, 1])


def test_cql_stream_matches_hand_n_step_across_episode_ends(tmp_path):
  source = make_source(tmp_path, num_policies=2)
  ids = [p.policy_id for p in source.policies()]
  eps = {(e["policy_id"].decode(), int(e["episode_index"])): e
         for e in source.episodes(ids).as_numpy_iterator()}
  checked = 0
  for b in batches(pipeline.make_stream(source, ids, config(algo="cql", with_ids=True,
                                                           gamma=0.9))):
    for i in range(len(b["step"])):
      ep = eps[(b["policy_id"][i].decode(), int(b["episode_index"][i]))]
      t, L = int(b["step"][i]), len(ep["actions"])
      k = min(3, L - t)
      want = sum(0.9 ** j * ep["rewards"][t + j] for j in range(k))
      terminal = ep["discounts"][t + k - 1] == 0
      np.testing.assert_allclose(b["reward"][i], want, rtol=1e-5, atol=1e-5)
      np.testing.assert_allclose(b["discount"][i], 0.0 if terminal else 0.9 ** k, rtol=1e-6)
      np.testing.assert_array_equal(b["next_obs"][i], ep["observations"][t + k])
      checked += 1
  assert checked == sum(len(e["actions"]) for e in eps.values())


def test_frame_stack_matches_naive_reference():
  rng = np.random.default_rng(0)
  frames = rng.integers(0, 255, (7, 5, 4)).astype(np.uint8)
  t = np.arange(7)
  got = pipeline.stack_frames(frames, t, 4).numpy()
  assert got.dtype == np.uint8 and got.shape == (7, 5, 4, 4)
  for i in t:
    for s in range(4):
      j = i - 3 + s
      np.testing.assert_array_equal(got[i, :, :, s], frames[j] if j >= 0 else 0)


def test_rfi_keeps_top_fraction_and_rci_carries_return(tmp_path):
  source = make_source(tmp_path, num_policies=5, episodes_per_policy=4)
  ids = [p.policy_id for p in source.policies()]
  stats = pipeline.dataset_stats(source, ids, rfi_fraction=0.25)
  returns = sorted((float(e["episode_return"]), len(e["actions"]))
                   for e in source.episodes(ids).as_numpy_iterator())
  assert stats.num_episodes == 20 and stats.g_min == returns[0][0] and stats.g_max == returns[-1][0]
  assert stats.num_transitions == sum(n for _, n in returns)
  seen = set()
  for b in batches(pipeline.make_stream(source, ids, config(algo="rfi", with_ids=True),
                                        stats=stats)):
    seen |= {(p.decode(), int(e)) for p, e in zip(b["policy_id"], b["episode_index"])}
  kept = {(e["policy_id"].decode(), int(e["episode_index"]))
          for e in source.episodes(ids).as_numpy_iterator()
          if e["episode_return"] >= stats.rfi_threshold}
  assert seen == kept and len(kept) == 5
  eps = {(e["policy_id"].decode(), int(e["episode_index"])): float(e["episode_return"])
         for e in source.episodes(ids).as_numpy_iterator()}
  for b in batches(pipeline.make_stream(source, ids, config(algo="rci", with_ids=True))):
    for p, e, g in zip(b["policy_id"], b["episode_index"], b["episode_return"]):
      assert g == pytest.approx(eps[(p.decode(), int(e))])


def test_bad_inputs_name_the_file_or_setting(tmp_path):
  with pytest.raises(OfflineScalingError, match="policy table .* does not exist"):
    PybulletSource(tmp_path / "nothing")
  source = make_source(tmp_path)
  ids = [p.policy_id for p in source.policies()]
  with pytest.raises(OfflineScalingError, match="no policy selected"):
    pipeline.make_stream(source, [], config())
  with pytest.raises(OfflineScalingError, match="batch_size=0"):
    pipeline.make_stream(source, ids, config(batch_size=0))
  with pytest.raises(OfflineScalingError, match=r"policies \['pol99'\] are not among the 6"):
    pipeline.make_stream(source, ["pol99"], config())
  shard = tmp_path / "shards" / "pol2.tfrecord"
  shard.write_bytes(shard.read_bytes()[:-30])
  with pytest.raises(OfflineScalingError, match="pol2.tfrecord.*truncated or corrupt"):
    list(pipeline.make_stream(source, ids, config()))
  shard.unlink()
  with pytest.raises(OfflineScalingError, match="pol2.tfrecord.*does not exist"):
    pipeline.make_stream(source, ids, config())
