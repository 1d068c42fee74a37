r"""Train CQL (C51, dueling, α = 0.1) on MinAtar DQN replay; see `experiments/minatar_offline.py`.

    python -m experiments.minatar_cql --data_dir=runs/minatar_replay --game=breakout \
        --expertise=0.5 --width_mult=2
"""

from absl import flags

from experiments import common, minatar_offline

minatar_offline.define_config("cql")
flags.adopt_module_key_flags(minatar_offline)

if __name__ == "__main__":
  common.run(minatar_offline.main_for("cql"))
