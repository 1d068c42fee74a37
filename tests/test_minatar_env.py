"""The MinAtar envs against the reference `minatar` package: shapes, actions,
seeding, sticky actions, names, and the missing-extra error."""

import sys

import gymnasium as gym
import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.envs import (MINATAR_GAMES, MinAtarEnv, make_minatar_env, make_vector_env,
                                  minatar_game_name)

minatar = pytest.importorskip("minatar")

CHANNELS = {"Asterix": 4, "Breakout": 4, "Freeway": 7, "Seaquest": 10, "SpaceInvaders": 6}
MODULES = {"Asterix": "asterix", "Breakout": "breakout", "Freeway": "freeway",
           "Seaquest": "seaquest", "SpaceInvaders": "space_invaders"}


def _actions(n, seed=0):
  return np.random.default_rng(seed).integers(0, 6, n).tolist()


def _play(env, actions, seed=None):
  """(observations, rewards, terminals) over `actions`, resetting (unseeded) at episode ends."""
  obs, _ = env.reset(seed=seed)
  frames, rewards, terminals = [obs], [], []
  for a in actions:
    obs, reward, terminated, truncated, _ = env.step(a)
    rewards.append(reward)
    terminals.append(terminated)
    if terminated or truncated:
      obs, _ = env.reset()
    frames.append(obs)
  return np.stack(frames), np.array(rewards), np.array(terminals)


def _play_reference(game, actions, seed, sticky_action_prob):
  """The same, on `minatar.Environment` stepped directly."""
  env = minatar.Environment(MODULES[game], sticky_action_prob=sticky_action_prob)
  env.seed(seed)
  env.reset()
  frames, rewards, terminals = [env.state()], [], []
  for a in actions:
    reward, terminal = env.act(a)
    rewards.append(reward)
    terminals.append(terminal)
    if terminal:
      env.reset()
    frames.append(env.state())
  return np.stack(frames), np.array(rewards, float), np.array(terminals)


@pytest.mark.parametrize("name,game", [
    ("asterix", "Asterix"), ("Breakout", "Breakout"), ("FREEWAY", "Freeway"),
    ("seaquest", "Seaquest"), ("space_invaders", "SpaceInvaders")])
def test_shapes_dtypes_and_full_action_set(name, game):
  env = make_minatar_env(name, seed=0)
  assert minatar_game_name(name) == game
  c = CHANNELS[game]
  assert env.observation_space == gym.spaces.Box(0, 1, (10, 10, c), np.uint8)
  assert env.action_space == gym.spaces.Discrete(6)
  obs, info = env.reset()
  assert obs.shape == (10, 10, c) and obs.dtype == np.uint8 and info == {}
  for a in range(6):
    obs, reward, terminated, truncated, _ = env.step(a)
    assert obs.shape == (10, 10, c) and obs.dtype == np.uint8 and obs.max() == 1
    assert env.observation_space.contains(obs)
    assert isinstance(reward, float) and isinstance(terminated, bool) and truncated is False
  assert env.spec_info == {"game": game, "sticky_action_prob": 0.1, "num_actions": 6,
                           "difficulty_ramping": True, "max_episode_steps": None,
                           "minatar_version": "1.0.15"}


@pytest.mark.parametrize("game", sorted(MINATAR_GAMES.values()))
def test_same_seed_same_trajectory_different_seed_differs(game):
  actions = _actions(600)
  a = _play(make_minatar_env(game), actions, seed=1)
  b = _play(make_minatar_env(game), actions, seed=1)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)
  # Reseeding a used env restarts the same trajectory (the remembered action too).
  env = make_minatar_env(game)
  _play(env, _actions(37, seed=5), seed=9)
  for x, y in zip(a, _play(env, actions, seed=1)):
    np.testing.assert_array_equal(x, y)
  c = _play(make_minatar_env(game), actions, seed=2)
  assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("game", ["Breakout", "Seaquest", "SpaceInvaders"])
@pytest.mark.parametrize("sticky", [0.0, 0.1])
def test_equals_minatar_environment_step_by_step(game, sticky):
  # The wrapper adds nothing to the game: the same seed and actions give the same
  # frames, rewards and terminals as minatar.Environment, with or without sticky actions.
  actions = _actions(800, seed=3)
  ours = _play(make_minatar_env(game, sticky_action_prob=sticky), actions, seed=4)
  ref = _play_reference(game, actions, seed=4, sticky_action_prob=sticky)
  np.testing.assert_array_equal(ours[0], ref[0].astype(np.uint8))
  np.testing.assert_array_equal(ours[1], ref[1])
  np.testing.assert_array_equal(ours[2], ref[2])


def test_sticky_actions_change_the_trajectory():
  # SpaceInvaders has no randomness but the sticky actions: with them off, every
  # seed plays the same game; with them on (MinAtar's 0.1), seeds differ.
  actions = [1, 3] * 200
  off = [_play(make_minatar_env("spaceinvaders", sticky_action_prob=0.0), actions, seed=s)[0]
         for s in (0, 1)]
  on = [_play(make_minatar_env("spaceinvaders"), actions, seed=s)[0] for s in (0, 1)]
  np.testing.assert_array_equal(off[0], off[1])
  assert not np.array_equal(on[0], on[1]) and not np.array_equal(on[0], off[0])


def test_seeded_reset_forgets_the_previous_action():
  # MinAtar repeats its remembered previous action; a seeded reset starts from a
  # fresh env's (0), not from the last action of the episode before. With seed 1,
  # SpaceInvaders' (randomness-free) first step is sticky at probability 0.5.
  assert np.random.RandomState(1).rand() < 0.5
  actions = [3, 4] * 20
  fresh = _play(make_minatar_env("spaceinvaders", sticky_action_prob=0.5), actions, seed=1)
  used = make_minatar_env("spaceinvaders", sticky_action_prob=0.5, seed=0)
  for _ in range(20):
    used.step(1)
  np.testing.assert_array_equal(_play(used, actions, seed=1)[0], fresh[0])


def test_max_episode_steps_truncates_and_make_seeds():
  env = make_minatar_env("breakout", seed=0, max_episode_steps=5)
  assert env.spec_info["max_episode_steps"] == 5
  env.reset()
  flags = [env.step(0)[2:4] for _ in range(5)]
  assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])
  # make_minatar_env(seed=s) is reset(seed=s); the action space is seeded too.
  a, b = make_minatar_env("asterix", seed=7), make_minatar_env("asterix")
  b.reset(seed=7)
  np.testing.assert_array_equal(_play(a, _actions(200))[0], _play(b, _actions(200))[0])
  assert [make_minatar_env("asterix", seed=7).action_space.sample() for _ in range(3)] == \
         [make_minatar_env("asterix", seed=7).action_space.sample() for _ in range(3)]


def test_vector_env():
  envs = make_vector_env("freeway", 2, seed=0, make=make_minatar_env)
  obs, _ = envs.reset()
  assert obs.shape == (2, 10, 10, 7) and obs.dtype == np.uint8
  obs, reward, *_ = envs.step(np.array([1, 2]))
  assert obs.shape == (2, 10, 10, 7) and reward.shape == (2,)


@pytest.mark.parametrize("bad", ["pong", "space invaders!", ""])
def test_bad_game_name_is_one_line_listing_the_games(bad):
  with pytest.raises(OfflineScalingError) as err:
    make_minatar_env(bad)
  message = str(err.value)
  assert "\n" not in message and repr(bad) in message
  for game in ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders"):
    assert game in message


def test_bad_settings_and_actions():
  with pytest.raises(OfflineScalingError, match="sticky_action_prob"):
    make_minatar_env("breakout", sticky_action_prob=1.5)
  with pytest.raises(OfflineScalingError, match="max_episode_steps"):
    make_minatar_env("breakout", max_episode_steps=0)
  env = make_minatar_env("breakout", seed=0)
  with pytest.raises(OfflineScalingError, match="action"):
    env.step(6)


def test_missing_extra_names_the_install_command(monkeypatch):
  monkeypatch.setitem(sys.modules, "minatar", None)  # `import minatar` now fails
  with pytest.raises(OfflineScalingError) as err:
    MinAtarEnv("breakout")
  assert "\n" not in str(err.value)
  assert "pip install 'offline_scaling[minatar]'" in str(err.value)
