r"""Train CQL (C51, dueling, n-step) on a PyBullet expertise dataset; see
`experiments/pybullet_imitation.py` for the shared flags.

    python -m experiments.pybullet_cql --data=runs/episodes --env=hopper --expertise=1.0 \
        --param_count=100000 --steps=10000 --seeds=8 --alpha=0.1 --workdir=runs/cql

The MLP torso has the hidden layers BC's MLP gets at --param_count; rewards
are scaled into the value support by a constant from the data
(docs/learners.md). Any other agent setting: `--config.agent.<field>=...`.
"""

from absl import flags

from experiments import common, pybullet_imitation

flags.DEFINE_float("alpha", None, "CQL penalty weight α (default 0.1)")
pybullet_imitation.define_config("cql")
flags.adopt_module_key_flags(pybullet_imitation)

if __name__ == "__main__":
  common.run(pybullet_imitation.main_for("cql", {"alpha": "agent.alpha"}))
