"""A small local Atari source: real ALE games, behaviour improving across checkpoints.

A stand-in for the DQN Replay / RL Unplugged data (tens of GB) in tests and
small studies, read by the same sources (`RLUAtariSource`, `DopamineAtariSource`).
Games are played under the Dopamine protocol (`offline_scaling.envs.atari`).

Behaviour: a schedule of increasingly good behaviour, not a learner. At
checkpoint k of K the player is ε_k-greedy around a small scripted player of
the game, with ε_k falling linearly from 1 (uniformly random actions) at the
first checkpoint to 0.05 at the last. The scripted players read the emulator's
RAM (Pong, Breakout: move the paddle toward the ball) or keep a habit (Space
Invaders: always fire; Enduro: always accelerate, steering at random;
Ms. Pac-Man: hold a direction until stuck), and score above random play, so
returns rise on average across checkpoints. Mean returns at checkpoints 0-3 of
4 (run 1, seed 0, >= 6000 steps each): Pong -20.4, -19.8, -16.3, -12.0;
Breakout 1.5, 4.1, 13.8, 24.3; Ms. Pac-Man 222, 478, 473, 684; Space Invaders
172, 124, 246, 220; Enduro 0, 0, 0, 8 (only a nearly greedy player keeps
the speed to pass cars). No learning makes it cheap, and each checkpoint is
reproducible on its own (its seeds depend only on the seed, the run and the
checkpoint), so a killed generation resumes: finished checkpoints are skipped.

Each checkpoint plays whole episodes until it has at least
`steps_per_checkpoint` transitions; they go, atomically, to
  rlu:      <out>/<Game>/run_<n>-<k:05d>-of-<K:05d> (RL Unplugged raw format)
  dopamine: <out>/<Game>/<n>/replay_logs/*_ckpt.<k>.gz (Dopamine replay logs)
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from offline_scaling.data import dopamine_atari, rlu_atari
from offline_scaling.data.episodes import Episode
from offline_scaling.envs.atari import MAX_EPISODE_STEPS, atari_game_name, make_atari_env
from offline_scaling.errors import OfflineScalingError

FORMATS = ("rlu", "dopamine")

MIN_EPSILON = 0.05

# A scripted player: (RAM [128] uint8, step in episode, rng, per-episode state) -> action name.
Player = Callable[[np.ndarray, int, np.random.Generator, dict], str]


def _track(position: int, target: int, towards_larger: str, towards_smaller: str) -> str:
  return towards_larger if target > position + 2 else (
      towards_smaller if target < position - 2 else "NOOP")


def _pong(ram, t, rng, state):
  # RAM 51: our paddle's top y; 54: the ball's y (0 while out of play). LEFT moves down.
  if ram[54] == 0:
    return "FIRE"
  return _track(int(ram[51]) + 10, int(ram[54]), "LEFT", "RIGHT")


def _breakout(ram, t, rng, state):
  # RAM 72: the paddle's x; 99, 101: the ball's x and y (y 0 while not launched).
  if ram[101] == 0:
    return "FIRE"
  return _track(int(ram[72]) + 8, int(ram[99]), "RIGHT", "LEFT")


def _space_invaders(ram, t, rng, state):
  return "FIRE"


def _enduro(ram, t, rng, state):
  return str(rng.choice(["FIRE", "RIGHTFIRE", "LEFTFIRE"]))


def _ms_pacman(ram, t, rng, state):
  # RAM 10, 16: Ms. Pac-Man's x and y. A new direction when stuck or every 30 steps.
  position = (int(ram[10]), int(ram[16]))
  if "direction" not in state or state.get("position") == position or t % 30 == 0:
    state["direction"] = str(rng.choice(["UP", "RIGHT", "LEFT", "DOWN"]))
  state["position"] = position
  return state["direction"]


PLAYERS: dict[str, Player] = {"Breakout": _breakout, "Enduro": _enduro, "MsPacman": _ms_pacman,
                              "Pong": _pong, "SpaceInvaders": _space_invaders}


def epsilon(checkpoint: int, num_checkpoints: int) -> float:
  """ε_k: 1 at the first checkpoint, falling linearly to MIN_EPSILON at the last."""
  return 1.0 - (1.0 - MIN_EPSILON) * checkpoint / max(num_checkpoints - 1, 1)


def play_checkpoint(game: str, run: int, checkpoint: int, num_checkpoints: int, min_steps: int,
                    seed: int, max_episode_steps: int = MAX_EPISODE_STEPS) -> list[Episode]:
  """Plays whole episodes with checkpoint k's behaviour until there are >= min_steps transitions.

  Returns:
    Episodes with observations uint8 [L+1, 84, 84], actions [L], unclipped rewards [L].
  """
  seeds = np.random.SeedSequence([seed, run, checkpoint])
  env = make_atari_env(game, seed=int(seeds.generate_state(1)[0]),
                       max_episode_steps=max_episode_steps)
  rng = np.random.default_rng(seeds)
  actions_by_name = {name: i for i, name in enumerate(env.unwrapped.get_action_meanings())}
  player, eps = PLAYERS[game], epsilon(checkpoint, num_checkpoints)
  episodes, steps = [], 0
  while steps < min_steps:
    obs, _ = env.reset()
    frames, actions, rewards, state = [obs], [], [], {}
    terminated = truncated = False
    while not (terminated or truncated):
      if rng.random() < eps:
        action = int(rng.integers(env.action_space.n))
      else:
        action = actions_by_name[player(env.unwrapped.ale.getRAM(), len(actions), rng, state)]
      obs, reward, terminated, truncated, _ = env.step(action)
      frames.append(obs)
      actions.append(action)
      rewards.append(reward)
    episodes.append(Episode(
        observations=np.stack(frames), actions=np.array(actions, np.int64),
        rewards=np.array(rewards, np.float32), terminated=terminated,
        policy_id=rlu_atari.policy_id(game, run, checkpoint), env=game, seed=run,
        checkpoint_step=checkpoint, index=len(episodes)))
    steps += len(actions)
  env.close()
  return episodes


def generate(game: str, out: str | os.PathLike, runs: int = 2, checkpoints: int = 6,
             steps_per_checkpoint: int = 5000, format: str = "rlu", seed: int = 0,
             max_episode_steps: int = MAX_EPISODE_STEPS,
             on_checkpoint: Callable[[str], None] | None = None) -> None:
  """Writes runs 1..runs × checkpoints 0..checkpoints-1 of `game` under `out`.

  Checkpoints already written are skipped (a killed generation resumes).

  Args:
    game: an Atari game name, any case.
    out: the source's prefix (`rlu`) or root (`dopamine`) directory.
    runs: number of runs, numbered 1 … runs.
    checkpoints: checkpoints (policies) per run.
    steps_per_checkpoint: least transitions per checkpoint (whole episodes are played).
    format: `rlu` (RL Unplugged raw files) or `dopamine` (replay logs).
    seed: base seed of the episodes.
    max_episode_steps: agent steps before an episode is cut.
    on_checkpoint: called with a one-line summary of each checkpoint written.
  """
  game = atari_game_name(game)
  for name, value in (("runs", runs), ("checkpoints", checkpoints),
                      ("steps_per_checkpoint", steps_per_checkpoint),
                      ("max_episode_steps", max_episode_steps)):
    if value < 1:
      raise OfflineScalingError(f"{name}={value} must be >= 1")
  if format not in FORMATS:
    raise OfflineScalingError(f"format '{format}' is not one of {FORMATS}")
  out = os.fspath(out)
  for run in range(1, runs + 1):
    directory = dopamine_atari.replay_dir(out, game, run)
    for k in range(checkpoints):
      if format == "rlu":
        path = os.path.join(out, rlu_atari.file_name(game, run, k, checkpoints))
        if os.path.exists(path):
          continue
      elif k in dopamine_atari.checkpoints_in(directory):
        continue
      episodes = play_checkpoint(game, run, k, checkpoints, steps_per_checkpoint, seed,
                                 max_episode_steps)
      if format == "rlu":
        rlu_atari.write_file(path, episodes)
      else:
        dopamine_atari.write_checkpoint(directory, k, episodes)
      if on_checkpoint:
        returns = [ep.episode_return for ep in episodes]
        on_checkpoint(f"{game} run {run} checkpoint {k}: {len(episodes)} episodes, "
                      f"mean return {np.mean(returns):.1f}")
