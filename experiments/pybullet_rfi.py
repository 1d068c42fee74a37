r"""Train RFI on a PyBullet expertise dataset; see `experiments/pybullet_imitation.py`.

    python -m experiments.pybullet_rfi --data=runs/episodes --env=hopper --expertise=1.0 \
        --param_count=100000 --steps=10000 --seeds=8 --workdir=runs/rfi
"""

from absl import flags

from experiments import common, pybullet_imitation

pybullet_imitation.define_config("rfi")
flags.adopt_module_key_flags(pybullet_imitation)

if __name__ == "__main__":
  common.run(pybullet_imitation.main_for("rfi"))
