r"""Shared launcher of the Atari runs (`atari_cql`, `atari_rci`).

    python -m experiments.atari_cql --width_mult=4
    python -m experiments.atari_cql --source=rlu --data_dir=gs://rl_unplugged/atari_episodes_ordered \
        --game=Breakout --expertise=0.5 --width_mult=2 --steps=100000 --seeds=4 --workdir=runs/atari

With no data flags it uses a small dataset generated from real ALE games on
first use, in a cache directory it names. Flags override the config file
(`--config`, default `experiments/configs/atari.py`); everything is validated
before any work starts. The run lives in `<workdir>/<run_id>/` and resumes
after a kill with the same command. With
`--coordinator_address/--num_processes/--process_id` (or `--distributed`) it is
one process of a multi-host run: docs/multihost.md.
"""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

from experiments import common, multihost
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import atari_run


class _RunsParser(flags.ListParser):
  """`--runs=1,2` -> (1, 2)."""

  def parse(self, argument):
    try:
      return tuple(int(r) for r in super().parse(argument))
    except ValueError:
      raise ValueError(f"{argument!r} is not a comma-separated list of run numbers") from None


flags.DEFINE_string("game", None, "Breakout, Enduro, MsPacman, Pong or SpaceInvaders")
flags.DEFINE_string("source", None, "local (generated), rlu, tfds or dopamine")
flags.DEFINE_string("data_dir", None, "where the rlu / tfds / dopamine data are")
flags.DEFINE(_RunsParser(), "runs", None,
             "DQN runs to read, e.g. 1,2 for a download holding runs 1 and 2 (default: 1-5)",
             serializer=flags.CsvListSerializer(","))
flags.DEFINE_integer("checkpoints", None,
                     "the first N checkpoints of each run are the policies (default: 40)")
flags.DEFINE_float("expertise", None, "expertise level in (0, 1]")
flags.DEFINE_string("selection_rule", None, "value or rank")
flags.DEFINE_integer("num_policies", None, "checkpoints sub-sampled at the level")
flags.DEFINE_integer("num_episodes", None, "episodes in the dataset, split over the checkpoints")
flags.DEFINE_float("width_mult", None, "Impala-CNN width multiplier: 0.5, 1, 2, 3, 4 or 6")
flags.DEFINE_integer("steps", None, "updates per seed")
flags.DEFINE_integer("batch_size", None, "batch per seed (divisible by the device count)")
flags.DEFINE_integer("seeds", None, "independent models trained together (vmapped)")
flags.DEFINE_list("conditioners", None, "RCI conditioners c evaluated")
flags.DEFINE_integer("eval_episodes", None, "evaluation episodes per seed")
flags.DEFINE_boolean("skip_bad_episodes", None,
                     "skip and count bad episodes (no steps, NaN rewards, a missing step "
                     "feature) instead of stopping")
flags.DEFINE_string("workdir", "runs/atari", "where runs are written")
flags.adopt_module_key_flags(multihost)
F = flags.FLAGS

OVERRIDES = {"game": "env", "source": "source", "data_dir": "data_dir", "runs": "runs",
             "checkpoints": "checkpoints",
             "expertise": "expertise", "selection_rule": "selection_rule",
             "num_policies": "num_policies", "num_episodes": "num_episodes",
             "width_mult": "width_mult", "steps": "train.steps",
             "batch_size": "train.batch_size", "seeds": "train.num_seeds",
             "conditioners": "conditioners", "eval_episodes": "eval_episodes",
             "skip_bad_episodes": "stream.skip_bad_episodes"}


def define_config(algo: str):
  config_flags.DEFINE_config_file("config", f"experiments/configs/atari.py:{algo}", "run config")


def main_for(algo: str):
  def main(_):
    multihost.initialize()
    config = F.config
    if config.algo != algo:
      raise OfflineScalingError(f"--config is for '{config.algo}', this script trains '{algo}'")
    result = atari_run.run(common.apply_overrides(config, F, OVERRIDES), F.workdir)
    common.print_result(result, F.workdir)
  return main
