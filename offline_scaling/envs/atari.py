"""Atari games under the Dopamine protocol, the one the DQN Replay data used.

`make_atari_env` builds an ALE game (ROMs ship in the ale-py wheel) behind
gymnasium's `AtariPreprocessing`, set up as Dopamine's `AtariPreprocessing`:

* sticky actions: at every emulator frame the previous action repeats with
  probability 0.25 (Machado et al., 2018), drawn from the ALE's RNG, so
  `reset(seed=...)` makes a run reproducible;
* frame skip 4: one agent step is 4 emulator frames, the action repeated; the
  reward is their sum (unclipped: clipping belongs to the learner's data);
* the observation is the pixel-wise max of the last two of those frames, in
  grayscale, resized to 84×84 with area interpolation: uint8 [84, 84];
* no no-op starts (sticky actions are the only source of randomness), and the
  episode ends at game over, not at a lost life;
* episodes are cut (truncated) at 27,000 agent steps (108,000 frames).

The action set is the game's *minimal* one (e.g. 6 actions in Pong, 4 in
Breakout), as gym's `*NoFrameskip-v0` envs that Dopamine wrapped gave the DQN
Replay agents: the action indices stored in those data index this set, so an
agent trained on them must be evaluated on it.

Note that DQN Replay was recorded with the ROMs of atari-py<=0.2.5; ale-py's
ROMs differ for a few games (see the batch_rl README).
"""

from __future__ import annotations

import ale_py
import gymnasium as gym
from gymnasium.wrappers import AtariPreprocessing

from offline_scaling.envs.names import lookup_game
from offline_scaling.errors import OfflineScalingError

# Short lower-case name -> ALE game id. The study's five games.
ATARI_GAMES = {
    "breakout": "Breakout",
    "enduro": "Enduro",
    "mspacman": "MsPacman",
    "pong": "Pong",
    "spaceinvaders": "SpaceInvaders",
}
STICKY_ACTION_PROB = 0.25
FRAME_SKIP = 4
SCREEN_SIZE = 84
MAX_EPISODE_STEPS = 27_000


def atari_game_name(name: str) -> str:
  """The game's CamelCase name ('Pong') for any case and spelling of it ('pong', 'Space_Invaders').

  Raises:
    OfflineScalingError: for an unknown name, listing the known ones.
  """
  return lookup_game(name, ATARI_GAMES, "Atari")


def make_atari_env(game: str, seed: int | None = None, *,
                   sticky_action_prob: float = STICKY_ACTION_PROB,
                   max_episode_steps: int = MAX_EPISODE_STEPS,
                   full_action_space: bool = False) -> gym.Env:
  """Builds an Atari game with the Dopamine preprocessing (module docstring).

  Args:
    game: 'breakout', 'enduro', 'mspacman', 'pong' or 'spaceinvaders', any case.
    seed: if given, the env is reset once with it (seeding the ALE's RNG, which draws
      the sticky actions; later resets continue it) and the action space is seeded.
    sticky_action_prob: probability that the previous action repeats, per frame.
    max_episode_steps: agent steps after which an episode is truncated.
    full_action_space: use all 18 actions instead of the game's minimal set.

  Returns:
    The env: observations uint8 [84, 84], Discrete actions, unclipped rewards.
  """
  gym.register_envs(ale_py)
  # The ALE counts the cap in emulator frames and reports it as a truncation.
  env = gym.make(f"ALE/{atari_game_name(game)}-v5", frameskip=1,
                 repeat_action_probability=sticky_action_prob,
                 full_action_space=full_action_space,
                 max_num_frames_per_episode=FRAME_SKIP * max_episode_steps,
                 max_episode_steps=None)
  env = AtariPreprocessing(env, noop_max=0, frame_skip=FRAME_SKIP, screen_size=SCREEN_SIZE,
                           terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False)
  if seed is not None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
  return env


def make_stacked_atari_env(game: str, seed: int | None = None,
                           frame_stack: int = 4) -> gym.Env:
  """`make_atari_env` whose observations are the last `frame_stack` frames on the
  last axis, uint8 [84, 84, S], zeros before the episode's first frame: what
  the training streams feed the agents (Dopamine's stacking)."""
  env = gym.wrappers.FrameStackObservation(make_atari_env(game, seed), frame_stack,
                                           padding_type="zero")
  space = gym.spaces.Box(0, 255, (SCREEN_SIZE, SCREEN_SIZE, frame_stack), "uint8")
  return gym.wrappers.TransformObservation(env, lambda obs: obs.transpose(1, 2, 0), space)
