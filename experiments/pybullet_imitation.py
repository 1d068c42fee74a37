r"""Shared launcher of the PyBullet runs (`pybullet_bc`, `pybullet_rfi`, `pybullet_rci`,
`pybullet_cql`).

    python -m experiments.pybullet_bc --data=runs/episodes --env=hopper \
        --expertise=0.6 --param_count=1000000 --steps=100000 --seeds=8 --workdir=runs/bc

Flags override the config file (`--config`, default
`experiments/configs/pybullet_imitation.py`, or `pybullet_cql.py` for CQL);
everything is validated before any work starts. The run lives in
`<workdir>/<run_id>/` (run id = hash of the config) and resumes after a kill
with the same command. With
`--coordinator_address/--num_processes/--process_id` (or `--distributed`) it is
one process of a multi-host run: docs/multihost.md.
"""

from __future__ import annotations

from absl import flags
from ml_collections import config_flags

from experiments import common, multihost
from offline_scaling.errors import OfflineScalingError
from offline_scaling.study.grid import pybullet_module

flags.DEFINE_string("data", None, "collection directory (policy_table.json + shards)")
flags.DEFINE_string("env", None, "halfcheetah, hopper, walker2d or ant")
flags.DEFINE_float("expertise", None, "expertise level in (0, 1]")
flags.DEFINE_string("selection_rule", None, "value or rank")
flags.DEFINE_integer("num_policies", None, "P, policies sub-sampled at the level")
flags.DEFINE_integer("param_count", None, "target MLP parameter count (>= 1,000)")
flags.DEFINE_integer("steps", None, "updates per seed")
flags.DEFINE_integer("batch_size", None, "batch per seed (divisible by the device count)")
flags.DEFINE_integer("seeds", None, "independent models trained together (vmapped)")
flags.DEFINE_list("conditioners", None, "RCI conditioners c evaluated (G_min + c·(G_max − G_min))")
flags.DEFINE_integer("eval_episodes", None, "evaluation episodes per seed")
flags.DEFINE_boolean("skip_bad_episodes", None,
                     "skip and count bad episodes (no steps, NaN rewards, a missing step "
                     "feature) instead of stopping")
flags.DEFINE_string("workdir", None, "where runs are written", required=True)
flags.adopt_module_key_flags(multihost)
F = flags.FLAGS

# flag name -> config field it overrides
OVERRIDES = {"data": "data", "env": "env", "expertise": "expertise",
             "selection_rule": "selection_rule", "num_policies": "num_policies",
             "param_count": "agent.param_count", "steps": "train.steps",
             "batch_size": "train.batch_size", "seeds": "train.num_seeds",
             "conditioners": "conditioners", "eval_episodes": "eval_episodes",
             "skip_bad_episodes": "stream.skip_bad_episodes"}


def define_config(algo: str):
  path = ("experiments/configs/pybullet_cql.py" if algo == "cql"
          else f"experiments/configs/pybullet_imitation.py:{algo}")
  config_flags.DEFINE_config_file("config", path, "run config")


def apply_flags(config, algo: str, overrides: dict[str, str]):
  if config.agent.algo != algo:
    raise OfflineScalingError(f"--config is for '{config.agent.algo}', this script trains '{algo}'")
  return common.apply_overrides(config, F, overrides)


def main_for(algo: str, extra_overrides: dict[str, str] | None = None):
  """The script's main: flags (OVERRIDES and the script's own `extra_overrides`)
  onto the config, then the run of `algo`'s train module."""
  def main(_):
    multihost.initialize()
    config = apply_flags(F.config, algo, {**OVERRIDES, **(extra_overrides or {})})
    result = pybullet_module(algo).run(config, F.workdir)
    common.print_result(result, F.workdir)
  return main
