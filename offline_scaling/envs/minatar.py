"""MinAtar: five Atari games on a 10×10 grid, the study's CPU-scale stand-in for the ALE.

`make_minatar_env` builds a game of the reference `minatar` package (Young &
Tian, 2019) behind a thin gymnasium env, `MinAtarEnv`, set up as MinAtar's own
results and Dopamine's MinAtar agents use it:

* the full action set, Discrete(6), in every game (not the minimal one);
* sticky actions: at every step the previous action repeats with probability
  `sticky_action_prob` (MinAtar's default, 0.1), drawn by MinAtar itself from
  the env's RNG, so `reset(seed=...)` makes a run reproducible;
* difficulty ramping as MinAtar's default (on; only Asterix, Seaquest and
  SpaceInvaders ramp);
* no frame skip, no frame stack: one step is one frame, and the observation is
  the game state as uint8 [10, 10, C] with values in {0, 1}, one channel per
  object kind: C = 4 (Asterix), 4 (Breakout), 7 (Freeway), 10 (Seaquest),
  6 (SpaceInvaders);
* rewards unclipped (+1 per event; Seaquest can pay more in one step);
* an episode ends at game over (`terminated`); Freeway's own 2,500-frame limit
  is part of the game and also ends as `terminated`. No other cap unless
  `max_episode_steps` is given, which then truncates.

`minatar` is GPL-3.0 and this library is Apache-2.0, so it is the optional
extra `[minatar]` (`pip install 'offline_scaling[minatar]'`), imported only
when an env is built.

Run records read `MinAtarEnv.spec_info`: a JSON-able dict of the game, the
sticky-action probability, the action-set size, the ramping flag, the cap and
the minatar version.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import gymnasium as gym
import numpy as np

from offline_scaling.envs.names import lookup_game
from offline_scaling.errors import OfflineScalingError

# Short lower-case name -> the game's CamelCase name. The study's five games.
MINATAR_GAMES = {
    "asterix": "Asterix",
    "breakout": "Breakout",
    "freeway": "Freeway",
    "seaquest": "Seaquest",
    "spaceinvaders": "SpaceInvaders",
}
# CamelCase name -> minatar's module name (`minatar.environments.<module>`).
_MODULES = {"Asterix": "asterix", "Breakout": "breakout", "Freeway": "freeway",
            "Seaquest": "seaquest", "SpaceInvaders": "space_invaders"}
STICKY_ACTION_PROB = 0.1
NUM_ACTIONS = 6
_INSTALL = "pip install 'offline_scaling[minatar]'"


def minatar_game_name(name: str) -> str:
  """The game's CamelCase name ('SpaceInvaders') for any case and spelling of it.

  >>> minatar_game_name("space_invaders"), minatar_game_name("BREAKOUT")
  ('SpaceInvaders', 'Breakout')

  Raises:
    OfflineScalingError: for an unknown name, listing the known ones.
  """
  return lookup_game(name, MINATAR_GAMES, "MinAtar")


def _minatar():
  """The `minatar` package, or one error saying how to install it."""
  try:
    import minatar
  except ImportError:
    raise OfflineScalingError(
        f"MinAtar envs need the GPL-3.0 `minatar` package, an optional extra: {_INSTALL}"
    ) from None
  return minatar


class MinAtarEnv(gym.Env):
  """A MinAtar game as a gymnasium env (see the module docstring).

  Build it with `make_minatar_env`. Observations are uint8 [10, 10, C] in
  {0, 1}; actions Discrete(6); rewards float. `reset(seed=s)` seeds MinAtar's
  RNG (game randomness and sticky actions) and clears the remembered previous
  action, so it starts the same trajectory as a fresh env reset with `s`; a
  later `reset()` without a seed continues the RNG (and, as MinAtar does,
  carries the previous action over into the next episode's first step).
  """

  metadata = {"render_modes": []}

  def __init__(self, game: str, *, sticky_action_prob: float = STICKY_ACTION_PROB,
               difficulty_ramping: bool = True, max_episode_steps: int | None = None):
    name = minatar_game_name(game)
    if not 0.0 <= sticky_action_prob <= 1.0:
      raise OfflineScalingError(
          f"sticky_action_prob must be in [0, 1], got {sticky_action_prob}")
    if max_episode_steps is not None and max_episode_steps < 1:
      raise OfflineScalingError(
          f"max_episode_steps must be a positive number of steps or None, got {max_episode_steps}")
    minatar = _minatar()
    self._game = minatar.Environment(_MODULES[name], sticky_action_prob=sticky_action_prob,
                                     difficulty_ramping=difficulty_ramping)
    self._num_actions = self._game.num_actions()
    self._max_episode_steps = max_episode_steps
    self._steps = 0
    self._spec_info = {
        "game": name,
        "sticky_action_prob": float(sticky_action_prob),
        "num_actions": int(self._num_actions),
        "difficulty_ramping": bool(difficulty_ramping),
        "max_episode_steps": max_episode_steps,
        "minatar_version": importlib.metadata.version("minatar"),
    }
    self.observation_space = gym.spaces.Box(0, 1, tuple(self._game.state_shape()), np.uint8)
    self.action_space = gym.spaces.Discrete(self._num_actions)

  @property
  def spec_info(self) -> dict[str, Any]:
    """What a run records about the env: `game` (CamelCase), `sticky_action_prob`,
    `num_actions` (6), `difficulty_ramping`, `max_episode_steps` (None: no cap)
    and `minatar_version`. A fresh dict each call."""
    return dict(self._spec_info)

  def reset(self, *, seed: int | None = None,
            options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
    """Starts an episode; with `seed`, reseeds MinAtar's RNG first (class docstring)."""
    super().reset(seed=seed)
    if seed is not None:
      self._game.seed(seed)
      self._game.last_action = 0  # as a freshly built minatar.Environment
    self._game.reset()
    self._steps = 0
    return self._observation(), {}

  def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
    """One frame: the action (or, with probability `sticky_action_prob`, the previous one)."""
    action = int(action)
    if not 0 <= action < self._num_actions:
      raise OfflineScalingError(
          f"MinAtar action must be in [0, {self._num_actions}), got {action}")
    reward, terminated = self._game.act(action)
    self._steps += 1
    truncated = (not terminated and self._max_episode_steps is not None
                 and self._steps >= self._max_episode_steps)
    return self._observation(), float(reward), bool(terminated), truncated, {}

  def _observation(self) -> np.ndarray:
    return self._game.state().astype(np.uint8)


def make_minatar_env(game: str, seed: int | None = None, *,
                     sticky_action_prob: float = STICKY_ACTION_PROB,
                     difficulty_ramping: bool = True,
                     max_episode_steps: int | None = None) -> MinAtarEnv:
  """Builds a MinAtar game (module docstring); needs the `[minatar]` extra.

  Args:
    game: 'asterix', 'breakout', 'freeway', 'seaquest' or 'spaceinvaders', any
      case ('SpaceInvaders', 'space_invaders').
    seed: if given, the env is reset once with it (seeding MinAtar's RNG, which
      draws the games' randomness and the sticky actions; later resets continue
      it) and the action space is seeded.
    sticky_action_prob: probability that the previous action repeats, per step.
    difficulty_ramping: MinAtar's difficulty ramping (on by default, as MinAtar's).
    max_episode_steps: steps after which an episode is truncated; None (the
      default, as MinAtar) for no cap beyond the games' own.

  Returns:
    The env: observations uint8 [10, 10, C], Discrete(6) actions, unclipped
    float rewards; `env.spec_info` says how it was built. Its signature fits
    `envs.make_vector_env(game, n, seed, make=make_minatar_env)`.

  Raises:
    OfflineScalingError: for an unknown game, a setting out of range, or
      `minatar` not installed.
  """
  env = MinAtarEnv(game, sticky_action_prob=sticky_action_prob,
                   difficulty_ramping=difficulty_ramping, max_episode_steps=max_episode_steps)
  if seed is not None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
  return env
