r"""Shared launcher of the MinAtar runs (`minatar_cql`, `minatar_rci`, `minatar_bc`).

    python -m experiments.minatar_replay --game=breakout --workdir=runs/minatar_replay
    python -m experiments.minatar_cql --data_dir=runs/minatar_replay --game=breakout \
        --expertise=0.5 --width_mult=2 --steps=50000 --seeds=5

The data are the replay of the library's own online DQN runs
(`experiments.minatar_replay`): each checkpoint of each run is a policy,
and --num_policies of them are selected at the expertise level. Flags override
the config file (`--config`, default `experiments/configs/minatar.py`);
everything is validated before any work starts. The run lives in
`<workdir>/<run_id>/` and resumes after a kill with the same command.
"""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import minatar_run

flags.DEFINE_string("game", None, "asterix, breakout, freeway, seaquest or spaceinvaders")
flags.DEFINE_string("data_dir", None, "the replay's directory (minatar_replay --workdir)")
flags.DEFINE_float("expertise", None, "expertise level in (0, 1]")
flags.DEFINE_string("selection_rule", None, "value or rank")
flags.DEFINE_integer("num_policies", None, "checkpoints sub-sampled at the level (P)")
flags.DEFINE_integer("num_episodes", None, "episodes in the dataset, split over the checkpoints")
flags.DEFINE_float("width_mult", None, "MinAtar CNN width multiplier (channels 16 × it)")
flags.DEFINE_integer("steps", None, "updates per seed")
flags.DEFINE_integer("batch_size", None, "batch per seed")
flags.DEFINE_integer("seeds", None, "independent models trained together (vmapped)")
flags.DEFINE_list("conditioners", None, "RCI conditioners c evaluated")
flags.DEFINE_integer("eval_episodes", None, "evaluation episodes per seed")
flags.DEFINE_string("workdir", "runs/minatar", "where runs are written")
F = flags.FLAGS

OVERRIDES = {"game": "env", "data_dir": "data_dir", "expertise": "expertise",
             "selection_rule": "selection_rule", "num_policies": "num_policies",
             "num_episodes": "num_episodes", "width_mult": "width_mult",
             "steps": "train.steps", "batch_size": "train.batch_size",
             "seeds": "train.num_seeds", "conditioners": "conditioners",
             "eval_episodes": "eval_episodes"}


def define_config(algo: str):
  config_flags.DEFINE_config_file("config", f"experiments/configs/minatar.py:{algo}", "run config")


def main_for(algo: str):
  def main(_):
    config = F.config
    if config.algo != algo:
      raise OfflineScalingError(f"--config is for '{config.algo}', this script trains '{algo}'")
    result = minatar_run.run(common.apply_overrides(config, F, OVERRIDES), F.workdir)
    common.print_result(result, F.workdir)
  return main
