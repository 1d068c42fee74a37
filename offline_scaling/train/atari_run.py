"""One Atari run (CQL on C51, or RCI) on DQN Replay data or a local stand-in.

Sources (`config.source`):
  local     a small dataset generated from real ALE games on first use
            (`data.atari_generator`), in `config.data_dir` (default: the cache
            directory `default_cache_dir()`);
  rlu       RL Unplugged raw TFRecords under `config.data_dir` (local or gs://);
  tfds      tfds `rlu_atari_checkpoints_ordered` prepared in `config.data_dir`;
  dopamine  DQN Replay logs `{game}/{run}/replay_logs/` under `config.data_dir`.
The torso is the Impala-CNN at `width_mult` (or the Nature CNN); evaluation
plays the real game with the data's preprocessing and a 4-frame stack.
"""

from __future__ import annotations

import os

import jax.numpy as jnp
import ml_collections
from etils import epath

from offline_scaling.agents import cql, imitation
from offline_scaling.agents.base import COMPUTE_DTYPES
from offline_scaling.data import atari_generator
from offline_scaling.data.dopamine_atari import DopamineAtariSource
from offline_scaling.data.rlu_atari import NUM_RUNS, RLUAtariSource
from offline_scaling.data.tfds_atari import TfdsAtariSource
from offline_scaling.envs import atari_game_name, make_stacked_atari_env
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.cnn import ImpalaCNN, NatureCNN
from offline_scaling.train import offline_run

ALGOS = ("cql", "rci")
SOURCES = ("local", "rlu", "tfds", "dopamine")
TORSOS = ("impala", "nature")
WIDTH_MULTS = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0)


def default_cache_dir() -> epath.Path:
  """Where the local dataset is generated: $OFFLINE_SCALING_CACHE or ~/.cache/offline_scaling."""
  root = os.environ.get("OFFLINE_SCALING_CACHE") or os.path.expanduser("~/.cache/offline_scaling")
  return epath.Path(root) / "atari"


def default_config(algo: str = "cql") -> ml_collections.ConfigDict:
  """An Atari run of `algo` ('cql' or 'rci'): source, selection, torso, agent, loop."""
  c = offline_run.base_config()
  c.algo = algo
  c.env = "Pong"
  c.source = "local"
  c.data_dir = ""              # "" with source=local: default_cache_dir()
  c.runs = (1, 2, 3, 4, 5)
  c.checkpoints = 40           # the first N checkpoints of each run are the policies
  c.num_policies = 50           # P, fixed at every level (`study.grid.atari_paper`)
  c.num_episodes = 10_000      # split evenly over the selected checkpoints, from their middle
  c.torso = "impala"
  c.width_mult = 1.0
  c.compute_dtype = "float32"
  c.agent = cql.default_config() if algo == "cql" else imitation.default_config()
  if algo == "rci":
    c.agent.algo = "rci"
    c.agent.learning_rate = 6.25e-5
    # The CNN's features feed a linear head: the return must modulate them
    # (FiLM) to act differently in different states (`imitation.PolicyNetwork`).
    c.agent.return_conditioning = "film"
  c.stream.frame_stack = 4
  c.stream.repeat = True
  c.stream.shuffle_block = 4_096
  c.train.batch_size = 32
  # XLA:CPU runs convolutions inside a while loop ~7x slower than straight-line
  # code (measured: 6 vs 43 CQL updates/s, Nature CNN, batch 32), so the K
  # updates of a call are unrolled. On accelerators `--config.train.unroll=False`
  # compiles faster at no loss.
  c.train.updates_per_call = 10
  c.train.unroll = True
  c.train.log_every = 100
  c.train.checkpoint_every = 1_000
  c.eval_episodes = 10
  # The local stand-in: small enough to generate in a few minutes on a laptop.
  c.local = ml_collections.ConfigDict(dict(runs=2, checkpoints=6, steps_per_checkpoint=2_000,
                                           seed=0))
  return c


def validate(c: ml_collections.ConfigDict) -> None:
  """Checks every user-facing setting before any work starts; one message naming it."""
  c.env = atari_game_name(c.env)
  if c.algo not in ALGOS:
    raise OfflineScalingError(f"algo {c.algo!r} is not one of {ALGOS}")
  if c.source not in SOURCES:
    raise OfflineScalingError(f"--source={c.source!r} must be one of {SOURCES}")
  if c.source != "local" and not c.data_dir:
    raise OfflineScalingError(f"--source={c.source} needs --data_dir (where the data are)")
  if c.torso not in TORSOS:
    raise OfflineScalingError(f"--torso={c.torso!r} must be one of {TORSOS}")
  if c.width_mult not in WIDTH_MULTS:
    raise OfflineScalingError(f"--width_mult={c.width_mult} must be one of {WIDTH_MULTS}")
  if not c.runs or not set(c.runs) <= set(range(1, NUM_RUNS + 1)):
    raise OfflineScalingError(f"--runs={','.join(map(str, c.runs))} must name DQN runs "
                              f"among 1-{NUM_RUNS}")
  if c.checkpoints < 1:
    raise OfflineScalingError(f"--checkpoints={c.checkpoints} must be >= 1")
  if c.compute_dtype not in COMPUTE_DTYPES:
    raise OfflineScalingError(f"compute_dtype={c.compute_dtype!r} must be one of {COMPUTE_DTYPES}")
  if c.agent.get("algo", "cql") != c.algo:  # e.g. --config.algo=rci on the CQL config
    raise OfflineScalingError(f"algo={c.algo!r} but config.agent is the settings of "
                              f"{c.agent.get('algo', 'cql')!r}: use the {c.algo} config")
  (cql if c.algo == "cql" else imitation).validate_config(c.agent)
  if c.algo == "rci" and c.agent.return_conditioning != "film":
    raise OfflineScalingError(
        f"agent.return_conditioning={c.agent.return_conditioning!r}: over a CNN torso RCI "
        "needs 'film' (a code appended before the linear head shifts every state's logits alike)")
  offline_run.validate_base(c, c.algo)


def make_source(c: ml_collections.ConfigDict, log=print):
  """The configured episode source; generates the local dataset when missing."""
  if c.source == "local":
    root = epath.Path(c.data_dir) if c.data_dir else default_cache_dir()
    log(f"using the local Atari dataset in {root} (generated from real {c.env} games on "
        "first use; pass --source=rlu|tfds|dopamine --data_dir=... for DQN Replay)")
    atari_generator.generate(c.env, root, c.local.runs, c.local.checkpoints,
                             c.local.steps_per_checkpoint, seed=c.local.seed,
                             on_checkpoint=log)
    return RLUAtariSource(root, c.env, runs=range(1, c.local.runs + 1),
                          checkpoints=range(c.local.checkpoints))
  cls = {"rlu": RLUAtariSource, "tfds": TfdsAtariSource, "dopamine": DopamineAtariSource}
  return cls[c.source](c.data_dir, c.env, runs=tuple(c.runs), checkpoints=range(c.checkpoints))


def make_torso(c: ml_collections.ConfigDict):
  """The CNN torso of `c.torso`: Impala (width × `c.width_mult`) or Nature."""
  dtype = jnp.dtype(c.compute_dtype)
  return ImpalaCNN(c.width_mult, dtype) if c.torso == "impala" else NatureCNN(dtype)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path, progress: bool = True,
        log=print, run_id: str | None = None) -> dict:
  """Trains and evaluates one configuration; returns its result record.

  Args:
    config: `default_config(algo)` or a variant (validated here).
    workdir: the run lives in `<workdir>/<run_id>/`; a finished run is returned
      as stored, a killed one resumes.
    progress: show a progress bar.
    log: receives one-line notes (which dataset is used, generation progress).
    run_id: the run's directory name; default: the hash of the config (see
      `offline_run.run`).

  Returns:
    The result record (see `offline_run.run`): `eval_return` in clipped units,
    as the policies' values (DQN Replay logged clipped rewards), and
    `eval_raw_return`, the game score.
  """
  validate(config)
  config.stream.algo = config.algo
  source = make_source(config, log)
  probe = make_stacked_atari_env(config.env)
  obs_shape, num_actions = probe.observation_space.shape, int(probe.action_space.n)
  probe.close()

  build_agent = offline_run.cnn_agent_builder(config.algo, make_torso(config), obs_shape,
                                              num_actions, config.agent)
  play = offline_run.clipped_play(config.env, config.train.num_seeds, config.eval_episodes,
                                  make_stacked_atari_env)

  # CQL acts ε-greedily (ε_eval); RCI samples its categorical policy.
  return offline_run.run(config, workdir, domain="atari", algo=config.algo, source=source,
                         build_agent=build_agent, play=play, progress=progress,
                         deterministic_eval=config.agent.get("eval_deterministic", False),
                         run_id=run_id, value_unit="clipped")
