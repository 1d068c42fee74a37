r"""Train RCI (return-conditioned, FiLM) on MinAtar DQN replay; see `experiments/minatar_offline.py`.

    python -m experiments.minatar_rci --data_dir=runs/minatar_replay --game=breakout \
        --expertise=0.5 --width_mult=2
"""

from absl import flags

from experiments import common, minatar_offline

minatar_offline.define_config("rci")
flags.adopt_module_key_flags(minatar_offline)

if __name__ == "__main__":
  common.run(minatar_offline.main_for("rci"))
