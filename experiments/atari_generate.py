r"""Generate a small local Atari source (see `offline_scaling.data.atari_generator`).

    python -m experiments.atari_generate --game=Pong --runs=2 --checkpoints=6 \
        --steps_per_checkpoint=5000 --out=data/atari [--format=rlu|dopamine]

Real ALE games under the Dopamine protocol; checkpoint k of K plays ε_k-greedy
around a small scripted player, ε_k falling linearly from 1 to 0.05, so returns
rise across checkpoints. Files go, atomically, to
  rlu:      <out>/<Game>/run_<n>-<k:05d>-of-<K:05d> (RL Unplugged raw format)
  dopamine: <out>/<Game>/<n>/replay_logs/*_ckpt.<k>.gz (Dopamine replay logs)
A killed generation resumes with the same command.
"""

from __future__ import annotations

from absl import flags

from experiments import common
from offline_scaling.data import atari_generator
from offline_scaling.envs.atari import MAX_EPISODE_STEPS

flags.DEFINE_string("game", None, "Breakout, Enduro, MsPacman, Pong or SpaceInvaders",
                    required=True)
flags.DEFINE_integer("runs", 2, "runs to generate, numbered 1 … runs")
flags.DEFINE_integer("checkpoints", 6, "checkpoints (policies) per run")
flags.DEFINE_integer("steps_per_checkpoint", 5000,
                     "least transitions per checkpoint (whole episodes are played)")
flags.DEFINE_string("out", None, "output directory (the source's prefix or root)", required=True)
flags.DEFINE_enum("format", "rlu", list(atari_generator.FORMATS),
                  "RL Unplugged raw files or Dopamine logs")
flags.DEFINE_integer("max_episode_steps", MAX_EPISODE_STEPS, "agent steps before an episode is cut")
flags.DEFINE_integer("seed", 0, "base seed")
F = flags.FLAGS


def main(_):
  atari_generator.generate(F.game, F.out, F.runs, F.checkpoints, F.steps_per_checkpoint,
                           F.format, F.seed, F.max_episode_steps,
                           on_checkpoint=lambda line: print(line, flush=True))


if __name__ == "__main__":
  common.run(main)
