"""Online DQN on MinAtar: our replay-logging DQN against Dopamine's JAX DQN, same run.

Times, in one process and one after the other:

* `raw`: the reference `minatar` package stepped with random actions (sticky
  actions 0.1), before and after the agents, the ceiling of any agent's
  env steps/s on this machine;
* `ours`: `train.online_dqn.train_runs` for `--frames` frames in spans of
  `--span` (each span's episodes written as a shard, its snapshot and resume
  state saved, as in a replay run), with the MinAtar reference network
  (`hidden=128`, the default) and, as `ours_h0`, with Dopamine's shape (conv →
  Dense(actions), `hidden=0`);
* `dopamine`: Dopamine's `JaxDQNAgent` in its own `TrainRunner`, bound as its
  `labs/environments/minatar/dqn_<game>.gin` (Adam 2.5e-4, eps 3.125e-4,
  update every 4 steps, target copy every 1,000 steps, 1,000 steps of warm-up,
  replay 100k, batch 32, `MinatarDQNNetwork`) plus the two bindings the
  current `ReplayBuffer` needs (capacity 100k, batch 32) and its seed.
  `create_agent.debug_mode` is off (the gin turns it on; its per-update
  summaries are not part of learning). Its loss is its default (MSE), ours
  Huber (see `agents.dqn`).

Each agent's env steps/s is its frames over the wall time of its spans
(compilation included, as a user sees it), and its return at each span end
the mean undiscounted raw-score return of the episodes that ended in that span.
The cores other processes kept busy during each side (`common.OthersLoad`)
are recorded, with the matmul peak; a ratio measured while others took more
than 0.25 of a core is marked busy.

Dopamine runs where it is installed (the peers' venv, `docs/minatar.md`):

    ../peers-venv/bin/python -m benchmarks.minatar_dqn --game=breakout --frames=500000
"""

from __future__ import annotations

import json
import re
import tempfile
import time

import numpy as np
from absl import app, flags
from etils import epath

from benchmarks import common
from offline_scaling.envs.minatar import minatar_game_name

flags.DEFINE_string("game", "breakout", "MinAtar game")
flags.DEFINE_integer("frames", 500_000, "frames (agent steps) per agent")
flags.DEFINE_integer("span", 50_000, "frames per span: one return and one rate per span")
flags.DEFINE_list("impls", ["ours", "ours_h0", "dopamine"],
                  "agents to run, in order: ours, ours_h0, dopamine")
flags.DEFINE_integer("seed", 1, "run number (ours) and seed (Dopamine)")
flags.DEFINE_string("out", "benchmarks/out/minatar_dqn", "output directory")
FLAGS = flags.FLAGS


def module_name(game: str) -> str:
  """minatar's (and Dopamine's) name of a game: 'space_invaders' for 'SpaceInvaders'."""
  return re.sub(r"(?<!^)([A-Z])", r"_\1", minatar_game_name(game)).lower()


def raw_minatar(game: str, steps: int = 100_000) -> float:
  """Env steps/s of the reference `minatar.Environment` under random actions."""
  import minatar
  env = minatar.Environment(module_name(game), sticky_action_prob=0.1)
  rng = np.random.default_rng(0)
  actions = rng.integers(6, size=steps)
  env.reset()
  t0 = time.perf_counter()
  for a in actions:
    _, done = env.act(int(a))
    if done:
      env.reset()
  return steps / (time.perf_counter() - t0)


def run_ours(game: str, frames: int, span: int, seed: int, hidden: int) -> list[dict]:
  """Our DQN for `frames` frames; one record per span (frames, return, wall_s)."""
  from offline_scaling.train import online_dqn
  config = online_dqn.default_config()
  config.frames, config.checkpoints, config.hidden = frames, frames // span, hidden
  spans = []
  with tempfile.TemporaryDirectory() as workdir:
    online_dqn.train_runs(game, [seed], workdir, config, on_checkpoint=spans.append)
  return [dict(frames=s["frames"], return_raw=s["return_raw"], episodes=s["episodes"],
               wall_s=s["wall_s"]) for s in spans]


def run_dopamine(game: str, frames: int, span: int, seed: int) -> list[dict]:
  """Dopamine's JaxDQNAgent in its TrainRunner; one record per iteration of `span`."""
  import gin
  from dopamine.discrete_domains import run_experiment
  from dopamine.labs.environments.minatar import minatar_env  # noqa: F401 (gin names)
  game = module_name(game)
  gin.clear_config()
  gin.parse_config(f"""
import dopamine.jax.agents.dqn.dqn_agent
import dopamine.labs.environments.minatar.minatar_env
JaxDQNAgent.observation_shape = %minatar_env.{game.upper()}_SHAPE
JaxDQNAgent.observation_dtype = %minatar_env.DTYPE
JaxDQNAgent.stack_size = 1
JaxDQNAgent.network = @minatar_env.MinatarDQNNetwork
JaxDQNAgent.gamma = 0.99
JaxDQNAgent.update_horizon = 1
JaxDQNAgent.min_replay_history = 1000
JaxDQNAgent.update_period = 4
JaxDQNAgent.target_update_period = 1000
JaxDQNAgent.optimizer = 'adam'
JaxDQNAgent.seed = {seed}
create_optimizer.learning_rate = 0.00025
create_optimizer.eps = 3.125e-4
create_minatar_env.game_name = '{game}'
TrainRunner.create_environment_fn = @minatar_env.create_minatar_env
create_agent.agent_name = 'jax_dqn'
create_agent.debug_mode = False
Runner.training_steps = {span}
Runner.max_steps_per_episode = 100000000
Runner.fine_grained_print_to_console = False
ReplayBuffer.max_capacity = 100000
ReplayBuffer.batch_size = 32
""")
  spans, done = [], 0
  with tempfile.TemporaryDirectory() as base_dir:
    runner = run_experiment.create_runner(base_dir, schedule="continuous_train")
    for iteration in range(frames // span):
      t0 = time.perf_counter()
      stats = runner._run_one_iteration(iteration)  # Dopamine's own loop, one iteration
      wall = time.perf_counter() - t0
      lengths = stats["train_episode_lengths"]
      done += int(np.sum(lengths))
      spans.append(dict(frames=done, return_raw=float(np.mean(stats["train_episode_returns"])),
                        episodes=len(lengths), wall_s=round(wall, 2)))
  return spans


def summarize(name: str, spans: list[dict], others_cores: float | None) -> dict:
  """Frames/s over all spans, and the returns at each span end."""
  wall = sum(s["wall_s"] for s in spans)
  return dict(impl=name, frames=spans[-1]["frames"], wall_s=round(wall, 1),
              steps_per_s=round(spans[-1]["frames"] / wall, 1),
              others_cores=others_cores, spans=spans)


def main(_):
  common.quiet()
  out = epath.Path(FLAGS.out)
  out.mkdir(parents=True, exist_ok=True)
  if FLAGS.frames % FLAGS.span:
    raise app.UsageError(f"--frames={FLAGS.frames} must be a multiple of --span={FLAGS.span}")
  unknown = set(FLAGS.impls) - {"ours", "ours_h0", "dopamine"}
  if unknown:
    raise app.UsageError(f"--impls: unknown {sorted(unknown)}; use ours, ours_h0, dopamine")
  report = dict(machine=common.machine(), game=FLAGS.game, date=time.strftime("%F %T"),
                matmul_peak_gflops=round(common.matmul_peak_gflops(), 1),
                raw_before=round(raw_minatar(FLAGS.game), 1), runs=[])
  for impl in FLAGS.impls:
    with common.OthersLoad() as others:
      if impl == "dopamine":
        try:
          spans = run_dopamine(FLAGS.game, FLAGS.frames, FLAGS.span, FLAGS.seed)
        except ImportError as e:
          print(f"dopamine: not installed here ({e}); see docs/minatar.md for the peers' venv")
          continue
      else:
        spans = run_ours(FLAGS.game, FLAGS.frames, FLAGS.span, FLAGS.seed,
                         hidden=128 if impl == "ours" else 0)
    run = summarize(impl, spans, others.cores)
    report["runs"].append(run)
    print(f"{impl:9s} {run['steps_per_s']:8.1f} frames/s  returns "
          f"{[round(s['return_raw'], 1) for s in spans]}  others used "
          f"{others.cores if others.cores is None else round(others.cores, 2)} cores")
    (out / f"{FLAGS.game}.json").write_text(json.dumps(report, indent=1))
  report["raw_after"] = round(raw_minatar(FLAGS.game), 1)
  busy = max([r["others_cores"] or 0.0 for r in report["runs"]] + [0.0]) > common.BUSY_CORES
  print(f"raw minatar {report['raw_before']:.0f} → {report['raw_after']:.0f} steps/s; "
        f"matmul peak {report['matmul_peak_gflops']} GFLOP/s; {report['machine']}")
  rates = {r["impl"]: r["steps_per_s"] for r in report["runs"]}
  for mine in ("ours", "ours_h0"):
    if mine in rates and "dopamine" in rates:
      ratio = rates[mine] / rates["dopamine"]
      report[f"{mine}_over_dopamine"] = round(ratio, 2)
      print(f"{mine} / dopamine = {ratio:.2f}×" + (
          f"  (BUSY: other processes took over {common.BUSY_CORES} of a core; not a ratio to quote)"
          if busy else ""))
  report["busy"] = busy
  (out / f"{FLAGS.game}.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
  app.run(main)
