r"""Online DQN runs on a MinAtar game, their whole replay logged as DQN Replay is.

    python -m experiments.minatar_replay --game=breakout --runs=3 \
        --frames=5000000 --checkpoints=50 --workdir=runs/minatar_replay

Run r of 1..runs trains `agents.dqn` (Dopamine's MinAtar settings) for
--frames agent steps and logs, per checkpoint (an equal span of the run), the
episodes that ended in it, the network's parameters at its end and a policy
table row (value = the mean clipped return of its episodes): the layout of
`offline_scaling.train.online_dqn`, read by the MinAtar studies. A task plays
its runs in lockstep (independent runs, their network calls batched); a
killed run resumes at its last checkpoint with the same command; split runs
over machines with --task_index/--num_tasks.
"""

from __future__ import annotations

from absl import flags
from tqdm import tqdm

from experiments import common
from offline_scaling.envs.minatar import minatar_game_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import experts, online_dqn

flags.DEFINE_string("game", "breakout", "asterix, breakout, freeway, seaquest or spaceinvaders")
flags.DEFINE_integer("runs", 3, "DQN runs 1..runs (this task's share of them)")
flags.DEFINE_integer("frames", 5_000_000, "agent steps (MinAtar frames) per run")
flags.DEFINE_integer("checkpoints", 50, "checkpoints (equal spans) each run is logged in")
flags.DEFINE_string("workdir", None, "the replay's directory", required=True)
flags.DEFINE_integer("task_index", 0, "this task's index, for splitting runs over machines")
flags.DEFINE_integer("num_tasks", 1, "number of tasks the runs are split over")
F = flags.FLAGS


def main(_):
  game = minatar_game_name(F.game)
  if F.runs < 1:
    raise OfflineScalingError(f"--runs={F.runs} must be at least 1")
  if not 0 <= F.task_index < F.num_tasks:
    raise OfflineScalingError(
        f"--task_index={F.task_index} must lie in [0, --num_tasks={F.num_tasks})")
  config = online_dqn.default_config()
  config.frames, config.checkpoints = F.frames, F.checkpoints
  online_dqn.validate(config)
  mine = [seed + 1 for seed in experts.iter_seeds(F.runs, F.task_index, F.num_tasks)]
  with tqdm(total=F.frames, desc=f"{game} runs {','.join(map(str, mine))}", unit="frame") as bar:
    def show(record):
      bar.n = record["frames"]
      bar.set_postfix(run=record["run"], ret=record["return_raw"],
                      eps=f"{record['epsilon']:.3f}", fps=record["steps_per_s"])
    for out in online_dqn.train_runs(game, mine, F.workdir, config, on_checkpoint=show):
      print(f"replay in {out}")
  table = online_dqn.write_policy_table(F.workdir, game)
  print(f"policy table: {table}")


if __name__ == "__main__":
  common.run(main)
