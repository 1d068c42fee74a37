"""One MinAtar run (CQL on C51, RCI or BC) on the replay our online DQN logged.

The data are one game's DQN runs as `train.online_dqn` writes them
(`<data_dir>/<game>/`, read by `data.minatar_replay.MinatarReplaySource`):
each checkpoint of each run is a policy valued by its episodes' mean clipped
return, and a run selects a fixed number of them at its expertise level, as
the paper's Atari study does. The torso is `nets.minatar.MinAtarCNN` at
`width_mult` (with its FC layer, so the size grows about as width²);
evaluation plays the real `minatar` game (sticky actions, all 6 actions),
returning the game score and the clipped return of the same episodes.
"""

from __future__ import annotations

import ml_collections
from etils import epath

from offline_scaling.agents import cql, imitation
from offline_scaling.data.minatar_replay import MinatarReplaySource
from offline_scaling.envs.minatar import make_minatar_env, minatar_game_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.minatar import CONV_IMPLEMENTATIONS, MinAtarCNN, channels
from offline_scaling.train import offline_run

ALGOS = ("cql", "rci", "bc")


def default_config(algo: str = "cql") -> ml_collections.ConfigDict:
  """A MinAtar run of `algo` ('cql', 'rci' or 'bc'): data, selection, torso, agent, loop."""
  c = offline_run.base_config()
  c.algo = algo
  c.env = "breakout"
  c.data_dir = ""              # the replay's root (`experiments.minatar_replay --workdir`)
  c.num_policies = 20          # P, fixed at every level
  c.num_episodes = 0           # > 0: that many episodes split over the P checkpoints
  c.width_mult = 1.0
  c.hidden = 128               # the FC layer of MinAtar's DQN, scaled with the width
  c.conv = "patch"
  c.agent = cql.default_config() if algo == "cql" else imitation.default_config()
  if algo != "cql":
    c.agent.algo = algo
    c.agent.learning_rate = 6.25e-5
  if algo == "rci":
    c.agent.return_conditioning = "film"  # the return modulates the CNN's features
  c.stream.frame_stack = 1     # MinAtar's DQN sees one frame: the state is Markov
  c.stream.shuffle_block = 4_096
  c.train.batch_size = 32
  c.train.updates_per_call = 100
  c.train.log_every = 500
  c.train.checkpoint_every = 5_000
  c.eval_episodes = 10
  return c


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts; one message naming it."""
  c.env = minatar_game_name(c.env).lower()
  if c.algo not in ALGOS:
    raise OfflineScalingError(f"algo {c.algo!r} is not one of {ALGOS}")
  if not c.data_dir:
    raise OfflineScalingError("--data_dir is needed: the replay written by "
                              "`python -m experiments.minatar_replay --workdir=...`")
  channels(c.width_mult)
  if c.conv not in CONV_IMPLEMENTATIONS:
    raise OfflineScalingError(f"conv={c.conv!r} must be one of {CONV_IMPLEMENTATIONS}")
  if c.agent.get("algo", "cql") != c.algo:
    raise OfflineScalingError(f"algo={c.algo!r} but config.agent is the settings of "
                              f"{c.agent.get('algo', 'cql')!r}: use the {c.algo} config")
  (cql if c.algo == "cql" else imitation).validate_config(c.agent)
  if c.algo == "rci" and c.agent.return_conditioning != "film":
    raise OfflineScalingError(
        f"agent.return_conditioning={c.agent.return_conditioning!r}: over a CNN torso RCI "
        "needs 'film' (a code appended before the linear head shifts every state's logits alike)")
  offline_run.validate_base(c, c.algo)


def data_root(c: ml_collections.ConfigDict) -> epath.Path:
  """The game's replay directory, `<data_dir>/<game>` (checked to hold a policy table)."""
  root = epath.Path(c.data_dir) / minatar_game_name(c.env).lower()
  if not (root / "policy_table.json").exists():
    raise OfflineScalingError(
        f"--data_dir={c.data_dir} holds no {minatar_game_name(c.env)} replay ('{root}' has no "
        "policy_table.json): write it with python -m experiments.minatar_replay "
        f"--game={c.env} --workdir={c.data_dir}")
  return root


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path, progress: bool = True,
        run_id: str | None = None) -> dict:
  """Trains and evaluates one configuration; returns its result record.

  Args:
    config: `default_config(algo)` or a variant (validated here).
    workdir: the run lives in `<workdir>/<run_id>/`; a finished run is returned
      as stored, a killed one resumes.
    progress: show a progress bar.
    run_id: the run's directory name; default: the hash of the config.

  Returns:
    The result record (`offline_run.run`): `eval_return` in clipped units, as
    the checkpoints' values, and `eval_raw_return`, the game score.
  """
  validate(config)
  source = MinatarReplaySource(data_root(config))
  probe = make_minatar_env(config.env)
  obs_shape, num_actions = probe.observation_space.shape, int(probe.action_space.n)
  torso = MinAtarCNN(config.width_mult, conv=config.conv, hidden=config.hidden)
  build_agent = offline_run.cnn_agent_builder(config.algo, torso, obs_shape, num_actions,
                                              config.agent)
  play = offline_run.clipped_play(config.env, config.train.num_seeds, config.eval_episodes,
                                  make_minatar_env)
  # CQL acts ε-greedily (ε_eval); BC and RCI sample their categorical policy.
  return offline_run.run(config, workdir, domain="minatar", algo=config.algo, source=source,
                         build_agent=build_agent, play=play, progress=progress,
                         deterministic_eval=config.agent.get("eval_deterministic", False),
                         run_id=run_id, value_unit="clipped")
