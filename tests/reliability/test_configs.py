"""Bad configs: every user-facing setting is validated before any work starts.

A property test sets arbitrary values on any fields of the run configs (the
values a user can get past the type-safe ConfigDict and the flags) and
requires validation to either accept the config, with its invariants holding,
or raise `OfflineScalingError` with a one-line message; the same for
`select_policies` with an accepted config on arbitrary policy tables.
"""

import math
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import REPO
from offline_scaling import OfflineScalingError
from offline_scaling.agents.base import COMPUTE_DTYPES
from offline_scaling.data import pipeline
from offline_scaling.data.expertise import RULES, select_policies
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.train import atari_run, pybullet_cql, pybullet_imitation

CONFIGS = {
    "bc": lambda: _with_data(pybullet_imitation.default_config()),
    "rci": lambda: _with_data(pybullet_imitation.default_config(), algo="rci"),
    "cql": lambda: atari_run.default_config("cql"),
    "atari_rci": lambda: atari_run.default_config("rci"),
    "pybullet_cql": lambda: _with_data(pybullet_cql.default_config(), algo="cql"),
}
VALIDATE = {"bc": pybullet_imitation.validate, "rci": pybullet_imitation.validate,
            "cql": atari_run.validate, "atari_rci": atari_run.validate,
            "pybullet_cql": pybullet_cql.validate}


def _with_data(c, algo="bc"):
  c.data = "/data"
  c.agent.algo = algo
  return c


def _leaves(d, prefix=""):
  for k, v in d.items():
    if isinstance(v, dict):
      yield from _leaves(v, f"{prefix}{k}.")
    else:
      yield f"{prefix}{k}"


PATHS = {name: sorted(_leaves(make().to_dict())) for name, make in CONFIGS.items()}

values = st.one_of(
    st.integers(-3, 3), st.integers(-2**40, 2**40), st.sampled_from([0, 1, 2, 7, 8, 10, 64]),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-2, 2), st.booleans(),
    st.text(max_size=8), st.sampled_from(["value", "rank", "hopper", "Pong", "rci", "bc", "cql",
                                          "local", "rlu", "nature", "bfloat16", "first"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3).map(tuple),
    st.lists(st.integers(-2, 300), max_size=3).map(tuple))


def _set(config, path, value):
  *parents, leaf = path.split(".")
  node = config
  for p in parents:
    node = node[p]
  node[leaf] = value


def _invariants(c):
  """What a config validation accepted must guarantee."""
  t = c.train
  for field in ("steps", "batch_size", "num_seeds", "updates_per_call", "log_every",
                "checkpoint_every"):
    assert isinstance(t[field], int) and t[field] >= 1
  assert t.batch_size % jax.device_count() == 0
  assert t.steps % t.updates_per_call == 0 and t.checkpoint_every % t.updates_per_call == 0
  assert isinstance(t.eval_every, int) and t.eval_every >= 0
  assert t.eval_every % t.updates_per_call == 0
  np.random.default_rng(t.seed)
  jax.random.PRNGKey(t.seed)
  assert isinstance(c.eval_seed, int) and c.eval_seed >= 0
  assert 0 < c.expertise <= 1 and c.selection_rule in RULES
  assert c.num_policies >= 1 and c.num_episodes >= 0 and c.eval_episodes >= 1
  assert len(c.conditioners) >= 1 and all(math.isfinite(x) for x in c.conditioners)
  assert c.agent.learning_rate > 0 and math.isfinite(c.agent.learning_rate)
  assert c.get("compute_dtype", "float32") in COMPUTE_DTYPES
  assert c.agent.get("compute_dtype", "float32") in COMPUTE_DTYPES
  pipeline.validate(c.stream)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), name=st.sampled_from(sorted(CONFIGS)))
def test_config_validation_accepts_or_names_the_field(data, name):
  config = CONFIGS[name]()
  changed = data.draw(st.lists(st.sampled_from(PATHS[name]), min_size=1, max_size=3,
                               unique=True))
  for path in changed:
    value = data.draw(values, label=path)
    try:
      _set(config, path, value)
    except (TypeError, ValueError):  # the type-safe ConfigDict refuses it: no user gets here
      assume(False)
  try:
    VALIDATE[name](config)
  except OfflineScalingError as e:
    assert str(e) and "\n" not in str(e)
    return
  _invariants(config)


def _table(values):
  return [PolicyRecord(policy_id=f"p{i:03d}", env="hopper", seed=0, checkpoint_step=i,
                       value=v, std=0.0, num_episodes=3, num_steps=30, shard=f"s{i}")
          for i, v in enumerate(values)]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30),
       expertise=st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                           st.integers(-5, 5), st.text(max_size=3), st.none()),
       num_policies=st.one_of(st.integers(-5, 60), st.floats(-2, 70), st.none()),
       rule=st.one_of(st.sampled_from(RULES), st.text(max_size=5)))
def test_select_policies_on_arbitrary_input(values, expertise, num_policies, rule):
  try:
    s = select_policies(_table(values), expertise, num_policies, rule)
  except OfflineScalingError as e:
    assert str(e) and "\n" not in str(e)
    return
  assert 1 <= len(s.policy_ids) <= num_policies and len(set(s.policy_ids)) == len(s.policy_ids)
  assert list(s.values) == sorted(s.values) and s.best_value == s.values[-1]
  assert all(math.isfinite(v) for v in s.values) and s.num_eligible >= len(s.policy_ids)
  if num_policies > 1 or s.num_eligible == 1:  # P = 1 takes the best eligible one
    assert s.values[0] == min(values)


def test_batch_not_divisible_by_devices_is_refused_before_any_work(tmp_path):
  """Four CPU devices, batch 6: one line naming the flag, before the (missing) data are read."""
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
             JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, "-m", "experiments.pybullet_bc", f"--workdir={tmp_path}",
                         f"--data={tmp_path / 'missing'}", "--batch_size=6"], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr
  assert "error: batch_size=6 is not divisible by the 4 devices" in proc.stderr
  assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name,path,value,message", [
    ("bc", "conditioners", (0.5, 1.0), "only apply to RCI"),
    ("cql", "conditioners", (2.0,), "only apply to RCI"),
    ("bc", "train.seed", -1, "seed=-1"),
    ("cql", "compute_dtype", "float8", "compute_dtype"),
    ("bc", "agent.learning_rate", float("nan"), "learning_rate"),
    ("bc", "episode_position", "end", "episode_position"),
    ("rci", "train.eval_every", -10, "eval_every"),
    ("pybullet_cql", "stream.gamma", 1.0, "gamma=1.0 must be < 1"),
    ("pybullet_cql", "agent.hidden", (64, 0), "hidden=\\(64, 0\\) must be widths"),
])
def test_named_combinations(name, path, value, message):
  config = CONFIGS[name]()
  _set(config, path, value)
  with pytest.raises(OfflineScalingError, match=message):
    VALIDATE[name](config)


def test_an_expertise_level_that_selects_no_policy():
  with pytest.raises(OfflineScalingError, match="keeps ⌊0.1·5⌋ = 0 of the policies"):
    select_policies(_table([1.0, 2.0, 3.0, 4.0, 5.0]), 0.1, 3, "rank")


@pytest.mark.parametrize("setting,message", [
    ("expertise=(1.5,)", "--expertise=1.5 must lie in (0, 1]"),
    ("run.train.steps=-5", "steps=-5 must be an integer >= 1"),
    ("expertise=(1.0, 1.5)",
     "--expertise=1.5 must lie in (0, 1] (8 of the 16 points, e.g. hopper rfi e=1.5 1,000 params)"),
])
def test_a_sweep_refuses_a_bad_run_setting_before_its_first_stage(tmp_path, setting, message):
  from experiments.common import load_sweep
  from offline_scaling.study import sweep
  config = load_sweep("smoke", [setting])
  log = []
  with pytest.raises(OfflineScalingError) as e:
    sweep.run_sweep(config, tmp_path, log=log.append)
  assert str(e.value) == message   # once, however many points it stops
  assert log == [] and not (tmp_path / "zoo").exists()
