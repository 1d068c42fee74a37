import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.envs import (BangBangActions, PYBULLET_ENVS, canonical_name,
                                  index_to_signs, make_env, signs_to_index)


@pytest.mark.parametrize("dim", [1, 3, 6, 8])
def test_index_sign_mapping_is_a_bijection(dim):
  idx = np.arange(2 ** dim)
  signs = index_to_signs(idx, dim)
  assert signs.shape == (2 ** dim, dim)
  assert set(np.unique(signs)) == {-1.0, 1.0}
  assert len({tuple(s) for s in signs}) == 2 ** dim
  np.testing.assert_array_equal(signs_to_index(signs), idx)


def test_index_to_signs_bit_order():
  # index 5 = 0b101: dimensions 0 and 2 positive, dimension 1 negative.
  np.testing.assert_array_equal(index_to_signs(5, 3), [1, -1, 1])
  np.testing.assert_array_equal(index_to_signs(0, 3), [-1, -1, -1])


class _Record(gym.Env):
  """A tiny Box(3) env that remembers the last continuous action it got."""
  observation_space = gym.spaces.Box(-1, 1, (1,))
  action_space = gym.spaces.Box(-1, 1, (3,))

  def reset(self, *, seed=None, options=None):
    return np.zeros(1, np.float32), {}

  def step(self, action):
    self.last = np.asarray(action)
    return np.zeros(1, np.float32), 0.0, False, False, {}


def test_wrapper_components_in_interval_and_seeded():
  env = BangBangActions(_Record())
  assert env.action_space == gym.spaces.Discrete(8)
  env.reset(seed=3)
  first = []
  for i in range(200):
    env.step(i % 8)
    a = env.unwrapped.last
    signs = index_to_signs(i % 8, 3)
    assert np.all(np.abs(a) >= 0.8) and np.all(np.abs(a) <= 1.0)
    np.testing.assert_array_equal(np.sign(a), signs)
    first.append(a)
  env.reset(seed=3)
  again = []
  for i in range(200):
    env.step(i % 8)
    again.append(env.unwrapped.last)
  np.testing.assert_array_equal(first, again)
  env.reset(seed=4)
  env.step(0)
  assert not np.array_equal(env.unwrapped.last, first[0])


@pytest.mark.parametrize("name", ["hopper", "HopperBulletEnv-v0", "HOPPER", "Walker2D", "ant"])
def test_make_env_names(name):
  assert canonical_name(name) in PYBULLET_ENVS


def test_make_env_real_pybullet():
  env = make_env("hopper", seed=0)
  assert env.action_space == gym.spaces.Discrete(8)
  obs, _ = env.reset(seed=0)
  assert obs.shape == (15,)
  obs, reward, *_ = env.step(5)
  assert np.isfinite(reward)
  env.close()


def test_unknown_env_lists_known_names():
  with pytest.raises(OfflineScalingError) as e:
    make_env("humanoid")
  msg = str(e.value)
  assert "humanoid" in msg and all(n in msg for n in PYBULLET_ENVS)
  assert "\n" not in msg


_BUILD_AND_PRINT = """
from offline_scaling.envs import make_env, make_vector_env
print("ours: before", flush=True)
make_env("hopper", seed=0).reset(seed=0)
envs = make_vector_env("halfcheetah", 2, seed=0, asynchronous=True)
envs.reset(seed=0)
envs.close()
print("ours: after")
"""


def test_pybullet_native_prints_are_silenced():
  # pybullet prints from C (`pybullet build time: ...` on import, `argv[0]=`
  # per env), past sys.stdout: only a subprocess's real stdout shows them.
  proc = subprocess.run([sys.executable, "-c", _BUILD_AND_PRINT], capture_output=True,
                        text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines() == ["ours: before", "ours: after"]
  assert "pybullet build time" not in proc.stderr
