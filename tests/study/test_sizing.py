"""The collect stage sized for one pass (`collect.one_pass`), on a real tiny zoo."""

import collections
import json
import shutil

import pytest

from experiments.common import load_sweep
from offline_scaling.data import episodes as episodes_lib
from offline_scaling.data import policy_table
from offline_scaling.data.expertise import equal_episode_ranges, select_policies
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import grid, sizing, stages, sweep
from offline_scaling.train import collect, experts

# The smoke grid with a budget of 50 × 16 = 800 samples per point: several
# times what the valuation collection (2 short episodes per policy) holds.
ONE_PASS = ["collect.one_pass=True", "run.train.steps=50", "run.train.batch_size=16"]


def _copy_data(workdir, to):
  """The zoo and the valuation collection of `workdir`, copied to `to`."""
  for name in ("zoo", "episodes"):
    shutil.copytree(workdir / name, to / name)
  return to


def _by_id(root):
  return {r.policy_id: r for r in collect.finished_records(root)}


@pytest.fixture
def loads(monkeypatch):
  """The ids of the policies loaded to be played, in order (a spy on `ZooPolicy.load`)."""
  seen = []
  load = experts.ZooPolicy.load

  def spy(self):
    seen.append(self.policy_id)
    return load(self)
  monkeypatch.setattr(experts.ZooPolicy, "load", spy)
  return seen


@pytest.fixture(scope="module")
def sized(smoke, tmp_path_factory):
  """(the one-pass sweep, its sized workdir, the stage's log, the policies played in order)."""
  _, workdir = smoke
  config = load_sweep("smoke", ONE_PASS)
  out = _copy_data(workdir, tmp_path_factory.mktemp("sized"))
  log, played = [], []
  load = experts.ZooPolicy.load
  with pytest.MonkeyPatch.context() as m:
    m.setattr(experts.ZooPolicy, "load", lambda self: played.append(self.policy_id) or load(self))
    sweep.run_sweep(config, out, stage="collect", log=log.append)
  return config, out, log, played


def test_every_points_selection_holds_its_budget(smoke, sized):
  config, workdir, log, _ = sized
  root = workdir / "episodes"
  valuation = collect.finished_records(smoke[1] / "episodes")
  assert sizing.lacking(config, valuation)   # 2 episodes a policy were not enough
  table = policy_table.read_policy_table(root)
  assert sorted(table, key=lambda r: r.policy_id) == sorted(_by_id(root).values(),
                                                           key=lambda r: r.policy_id)
  by_id = {r.policy_id: r for r in table}
  for point in grid.points(config):
    c = grid.run_config(config, point)
    assert c.equal_episodes
    chosen = select_policies(table, c.expertise, c.num_policies, c.selection_rule).policy_ids
    # The run's data: the same first k episodes of every chosen policy.
    k, ranges = equal_episode_ranges(table, chosen, 50 * 16)
    assert all(by_id[p].num_episodes >= k for p in chosen)
    lengths = {p: [e.length for e in episodes_lib.read_shard(root / by_id[p].shard)]
               for p in chosen}
    assert sum(sum(lengths[p][:k]) for p in chosen) >= 50 * 16
    assert set(ranges.values()) == {(0, k)}
  assert sizing.lacking(config, table) == {}
  assert json.loads((root / sizing.RECORD_NAME).read_text())["converged"]
  assert "collect: one pass, round 1: topping up" in log[0]
  stages.check_data(config, workdir)   # the train stage takes it


def test_running_the_stage_again_plays_and_writes_nothing(sized, loads):
  config, workdir, _, _ = sized
  table = workdir / "episodes" / policy_table.TABLE_NAME
  files = sorted(f for f in (workdir / "episodes").rglob("*") if f != table)
  before = {f: f.stat().st_mtime_ns for f in files}, table.read_text()
  log = []
  sweep.run_sweep(config, workdir, stage="collect", log=log.append)
  assert log == [] and loads == []
  # Shards, rows and the sizing record untouched; the table rewritten as it was.
  assert ({f: f.stat().st_mtime_ns for f in files}, table.read_text()) == before


def test_a_top_up_continues_the_numbering_as_one_collection_would(smoke, sized, tmp_path):
  config, workdir, _, _ = sized
  valued = _by_id(smoke[1] / "episodes")
  topped = [r for r in _by_id(workdir / "episodes").values()
            if r.num_episodes > valued[r.policy_id].num_episodes]
  assert topped
  r = topped[0]
  (policy,) = [p for p in experts.list_zoo(workdir / "zoo") if p.policy_id == r.policy_id]
  eps = list(episodes_lib.read_shard(workdir / "episodes" / r.shard))
  assert [e.index for e in eps] == list(range(r.num_episodes))
  first = list(episodes_lib.read_shard(smoke[1] / "episodes" / valued[r.policy_id].shard))
  fresh = collect.collect_policy(policy, tmp_path, r.num_episodes)
  assert fresh == r   # same value, counts and shard path
  for a, b, c in zip(eps, first + [None] * len(eps),
                     episodes_lib.read_shard(tmp_path / fresh.shard)):
    assert (a.observations == c.observations).all() and (a.actions == c.actions).all()
    assert (a.rewards == c.rewards).all() and a.index == c.index
    if b is not None:   # the valuation's episodes are kept as they were
      assert (a.observations == b.observations).all()


def test_a_killed_top_up_resumes_redoing_only_the_unfinished_policy(smoke, sized, tmp_path,
                                                                   loads):
  config, sized_dir, _, played = sized
  workdir = _copy_data(smoke[1], tmp_path)
  root = workdir / "episodes"
  round_one = sizing.lacking(config, collect.finished_records(root))
  # The stage saves a round's targets before it plays them.
  policy_table.write_json_atomic(root / sizing.ROUND_NAME, dict(
      round=1, short={pid: list(v) for pid, v in round_one.items()}))
  zoo = {p.policy_id: p for p in experts.list_zoo(workdir / "zoo")}
  finished, landed, killed = list(round_one)[:3]
  # `finished` was topped up (shard and row); `landed`'s new shard is in place
  # but the kill came before its row; `killed` left a half-written shard.
  collect.collect_policy(zoo[finished], root, round_one[finished].target)
  row = collect.shard_path(root, zoo[landed]).with_suffix(".json")
  old_row = row.read_text()
  collect.collect_policy(zoo[landed], root, round_one[landed].target)
  row.write_text(old_row)
  shard = collect.shard_path(root, zoo[killed])
  (shard.parent / (shard.name + episodes_lib.TMP_SUFFIX)).write_bytes(b"half a record")
  loads.clear()

  sweep.run_sweep(config, workdir, stage="collect", log=lambda _: None)
  assert collections.Counter(loads) == collections.Counter(played) - collections.Counter(
      [finished, landed])
  assert killed in loads
  assert _by_id(root) == _by_id(sized_dir / "episodes")   # as if never killed
  assert not list(root.rglob("*" + episodes_lib.TMP_SUFFIX))
  assert not (root / sizing.ROUND_NAME).exists()


def test_a_cap_bounds_every_policys_transitions(smoke, tmp_path):
  config = load_sweep("smoke", ONE_PASS + ["collect.max_steps_per_policy=60"])
  workdir = _copy_data(smoke[1], tmp_path)
  sweep.run_sweep(config, workdir, stage="collect", log=lambda _: None)
  root = workdir / "episodes"
  records = collect.finished_records(root)
  by_id = {r.policy_id: r for r in records}
  targets = sizing.targets(config, records)
  assert targets
  for pid, k in targets.items():
    # k episodes of the selection's longest mean length stay within the cap.
    assert by_id[pid].num_episodes >= k
    assert k == 1 or k * by_id[pid].num_steps / by_id[pid].num_episodes <= 60 * 1.5
  stages.check_data(config, workdir)


def test_the_train_stage_refuses_a_collection_not_sized_for_one_pass(smoke):
  with pytest.raises(OfflineScalingError,
                     match=r"is not sized for one pass of this sweep: \d+ selected policies hold "
                           r"fewer episodes than their share \(e\.g\. hopper/seed_\d/\d+: "
                           r"\d+ of \d+\); run --stage=collect with --num_tasks=1"):
    stages.check_data(load_sweep("smoke", ONE_PASS), smoke[1])


def _table(num_steps):
  return [PolicyRecord(f"hopper/seed_0/{i}", "hopper", 0, i, value=float(i), std=0.0,
                       num_episodes=2, num_steps=num_steps, shard="") for i in range(10)]


def test_each_policy_must_hold_the_largest_k_of_a_selection_it_is_in():
  # rank rule, P = 4: e = 0.2 takes the 2 weakest, e = 1.0 policies 0, 3, 6, 9;
  # budget 100 × 32 = 3,200, every episode 100 steps long:
  # k = ceil(1.05 · 3,200 / 200) = 17 and ceil(1.05 · 3,200 / 400) = 9.
  config = load_sweep("smoke", ["collect.one_pass=True", "expertise=(0.2, 1.0)"])
  assert sizing.targets(config, _table(200)) == {
      "hopper/seed_0/0": 17, "hopper/seed_0/1": 17, "hopper/seed_0/3": 9,
      "hopper/seed_0/6": 9, "hopper/seed_0/9": 9}
  short = sizing.lacking(config, _table(200))
  assert short["hopper/seed_0/0"] == sizing.Shortfall(2, 17, 1_500)
  assert short["hopper/seed_0/9"] == sizing.Shortfall(2, 9, 700)
  # 2 datasets × (3,360 + 4 episodes of 1,000 steps), under 10 × (3,360 + 1,000).
  assert sizing.top_up_bound(config, 10) == 14_720
  config.collect.max_steps_per_policy = 500   # k <= 500 / 100
  assert set(sizing.targets(config, _table(200)).values()) == {5}
  assert sizing.top_up_bound(config, 10) == 12_000   # 2 × (4 × 500 + 4,000)


def test_the_dry_run_prints_the_collection_bound_then_its_exact_first_round(smoke, tmp_path):
  from experiments.sweep import collection_line
  config = load_sweep("smoke", ONE_PASS)
  bound = sizing.top_up_bound(config, 8)
  assert collection_line(config, str(tmp_path)) == (
      "collection: value 8 of the 8 zoo policies × 2 episodes: <= 16,000 env steps (upper "
      f"bound: every episode 1,000 steps); top up for one pass: <= {bound:,} env steps (upper "
      "bound: the policies' values, and so the selections, are unknown until they are "
      f"valued); ~{(16_000 + bound) / sweep.COLLECT_STEPS_PER_S / 60:.2g} min at "
      f"{sweep.COLLECT_STEPS_PER_S:,} env steps/s in one process")
  short = sizing.lacking(config, collect.finished_records(smoke[1] / "episodes"))
  line = collection_line(config, str(smoke[1]))
  assert (f"all 8 zoo policies valued; top up for one pass: about "
          f"{sum(s.steps for s in short.values()):,} env steps to {len(short)} policies "
          "(the first round, from the table)") in line
