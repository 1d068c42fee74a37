import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offline_scaling import OfflineScalingError
from offline_scaling.data.expertise import episode_ranges, select_policies
from offline_scaling.data.policy_table import PolicyRecord


def table(values, num_episodes=10):
  return [PolicyRecord(policy_id=f"p{i:02d}", env="hopper", seed=0, checkpoint_step=i,
                       value=float(v), std=0.0, num_episodes=num_episodes, num_steps=100,
                       shard=f"s{i}") for i, v in enumerate(values)]


VALUES = [50, 0, 10, 90, 30, 100, 70, 20, 60, 40, 80]  # 11 policies, 0..100 by 10


def test_value_rule_threshold_and_even_subsample():
  s = select_policies(table(VALUES), 0.5, 3, "value")
  # threshold = 0 + 0.5·100 = 50: eligible values 0..50 (6); indices
  # round(linspace(0, 5, 3)) = (0, 2, 5) (2.5 rounds to even) → values 0, 20, 50.
  assert s.threshold == 50 and s.num_eligible == 6
  assert s.values == (0, 20, 50) and s.best_value == 50 and s.note == ""
  assert s.policy_ids == ("p01", "p07", "p00")


def test_rank_rule_keeps_lowest_fraction():
  s = select_policies(table(VALUES), 0.4, 10, "rank")
  # ⌊0.4·11⌋ = 4 lowest: 0, 10, 20, 30; fewer than P = 10 → all, with a note
  assert s.num_eligible == 4 and s.values == (0, 10, 20, 30)
  assert "only 4 policies" in s.note


def test_rules_differ_on_skewed_values():
  skewed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 100]
  assert select_policies(table(skewed), 0.5, 20, "value").num_eligible == 9
  assert select_policies(table(skewed), 0.5, 20, "rank").num_eligible == 5


def test_expertise_one_takes_best_and_ties_are_deterministic():
  vals = [5, 5, 5, 1, 9, 9]
  s = select_policies(table(vals), 1.0, 2, "value")
  assert s.num_eligible == 6 and s.values == (1, 9)
  # Ties are ordered by policy id, so the same input always gives the same ids.
  assert s.policy_ids == ("p03", "p05")
  # rank 0.5: the 3 lowest by (value, id) are p03 (1), p00 (5), p01 (5); P = 1 takes the best.
  s = select_policies(table(vals), 0.5, 1, "rank")
  assert s.policy_ids == ("p01",)


@pytest.mark.parametrize("kwargs,match", [
    (dict(expertise=0.0, num_policies=3, rule="value"), "expertise=0.0"),
    (dict(expertise=1.5, num_policies=3, rule="value"), "expertise=1.5"),
    (dict(expertise=0.5, num_policies=0, rule="value"), "num_policies=0"),
    (dict(expertise=0.5, num_policies=3, rule="median"), "rule 'median'"),
    (dict(expertise=0.05, num_policies=3, rule="rank"), "keeps"),
])
def test_bad_requests_name_the_setting(kwargs, match):
  with pytest.raises(OfflineScalingError, match=match):
    select_policies(table(VALUES), **kwargs)


def test_empty_table():
  with pytest.raises(OfflineScalingError, match="empty"):
    select_policies([], 0.5, 3)


def test_episode_ranges_middle_first_last():
  t = table([1, 2, 3], num_episodes=10)
  ids = ["p00", "p01", "p02"]
  assert episode_ranges(t, ids, 10, "middle") == {"p00": (3, 7), "p01": (3, 6), "p02": (3, 6)}
  assert episode_ranges(t, ids, 10, "first")["p00"] == (0, 4)
  assert episode_ranges(t, ids, 10, "last")["p02"] == (7, 10)
  assert episode_ranges(t, ids, 90, "middle")["p00"] == (0, 10)  # fewer than its share
  with pytest.raises(OfflineScalingError, match="total_episodes=2"):
    episode_ranges(t, ids, 2)


finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=40),
       expertise=st.floats(-0.5, 1.5, allow_nan=False), num_policies=st.integers(-2, 50),
       rule=st.sampled_from(["value", "rank", "other"]))
def test_selection_invariants_or_own_error(values, expertise, num_policies, rule):
  try:
    s = select_policies(table(values), expertise, num_policies, rule)
  except OfflineScalingError:
    return
  assert 1 <= len(s.policy_ids) <= num_policies
  assert len(set(s.policy_ids)) == len(s.policy_ids)
  assert list(s.values) == sorted(s.values)
  assert s.best_value == max(s.values)
  assert all(v <= s.threshold + 1e-9 * max(1, abs(s.threshold)) for v in s.values)
  assert len(s.policy_ids) == min(num_policies, s.num_eligible)
  if len(s.policy_ids) >= 2:   # with P = 1 the single pick is the best eligible policy
    assert s.values[0] == min(values)  # the weakest policy is always eligible and taken
  if rule == "rank":
    assert s.num_eligible == int(np.floor(expertise * len(values) + 1e-9))
