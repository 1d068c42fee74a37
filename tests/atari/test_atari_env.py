"""The Atari envs follow the Dopamine protocol: frames, sticky actions, the cap, names."""

import ale_py
import cv2
import gymnasium as gym
import numpy as np
import pytest

from offline_scaling import OfflineScalingError
from offline_scaling.envs.atari import ATARI_GAMES, atari_game_name, make_atari_env

gym.register_envs(ale_py)


def _play(env, actions):
  frames, total = [], 0.0
  obs, _ = env.reset()
  frames.append(obs)
  for a in actions:
    obs, reward, terminated, truncated, _ = env.step(a)
    frames.append(obs)
    total += reward
    if terminated or truncated:
      break
  return np.stack(frames), total


@pytest.mark.parametrize("name,game,num_actions", [
    ("pong", "Pong", 6), ("BREAKOUT", "Breakout", 4), ("MsPacman", "MsPacman", 9),
    ("space_invaders", "SpaceInvaders", 6), ("Enduro", "Enduro", 9)])
def test_frames_and_minimal_action_set(name, game, num_actions):
  env = make_atari_env(name, seed=0)
  assert atari_game_name(name) == game
  assert env.action_space.n == num_actions  # the minimal set, as DQN Replay used
  obs, _ = env.reset()
  assert obs.shape == (84, 84) and obs.dtype == np.uint8
  assert env.observation_space.shape == (84, 84)
  obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
  assert obs.shape == (84, 84) and obs.dtype == np.uint8 and obs.max() > 0
  assert isinstance(reward, float) and not terminated and not truncated


def test_frame_skip_max_pool_and_resize_match_a_hand_computation():
  # Without sticky actions, one agent step = 4 raw frames of the same action; the
  # observation is the max of the last two grayscale frames, area-resized to 84×84.
  ours = make_atari_env("breakout", seed=0, sticky_action_prob=0.0)
  raw = gym.make("ALE/Breakout-v5", frameskip=1, repeat_action_probability=0.0,
                 obs_type="grayscale")
  ours.reset(seed=3)
  raw.reset(seed=3)
  for action in [1, 2, 2, 3, 0, 1]:
    obs, reward, *_ = ours.step(action)
    frames, total = [], 0.0
    for _ in range(4):
      frame, r, *_ = raw.step(action)
      frames.append(frame)
      total += r
    expected = cv2.resize(np.maximum(frames[-2], frames[-1]), (84, 84),
                          interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(obs, expected)
    assert reward == total
  assert ours.unwrapped.ale.getFloat("repeat_action_probability") == 0.0
  assert make_atari_env("pong").unwrapped.ale.getFloat(
      "repeat_action_probability") == pytest.approx(0.25)


def test_sticky_actions_are_seeded():
  # Alternating actions: whether the previous one sticks changes the trajectory.
  actions = [2, 3] * 150
  a, _ = _play(make_atari_env("breakout", seed=1), [1] + actions)
  b, _ = _play(make_atari_env("breakout", seed=1), [1] + actions)
  c, _ = _play(make_atari_env("breakout", seed=2), [1] + actions)
  d, _ = _play(make_atari_env("breakout", seed=1, sticky_action_prob=0.0), [1] + actions)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_episode_cap_truncates():
  env = make_atari_env("pong", seed=0, max_episode_steps=40)
  env.reset()
  for step in range(1, 41):
    _, _, terminated, truncated, _ = env.step(0)
    assert not terminated and truncated == (step == 40)
  assert make_atari_env("pong").unwrapped.ale.getInt("max_num_frames_per_episode") == 108_000


def test_unknown_game_lists_known_ones():
  with pytest.raises(OfflineScalingError, match="unknown Atari game 'Seaquest'") as e:
    make_atari_env("Seaquest")
  assert all(game in str(e.value) for game in ATARI_GAMES.values())
  assert "\n" not in str(e.value)
