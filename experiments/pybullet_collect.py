r"""Roll out every expert of a zoo into episode shards and a policy table.

    python -m experiments.pybullet_collect --zoo=runs/zoo \
        --episodes_per_policy=10 --out=runs/episodes

Each policy acts stochastically (as the expert does) for N episodes; they go to
`<out>/shards/<env>/seed_<s>/<env_steps>.tfrecord`, and the policy table (each
policy's value = mean return) to `<out>/policy_table.json`. Split over workers
with --task_index/--num_tasks; a killed collection resumes with the same command.
"""

from __future__ import annotations

from absl import flags
from tqdm import tqdm

from experiments import common
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import collect

flags.DEFINE_string("zoo", None, "the expert zoo directory", required=True)
flags.DEFINE_string("out", None, "output directory for shards and the policy table",
                    required=True)
flags.DEFINE_integer("episodes_per_policy", 10, "episodes collected per policy")
flags.DEFINE_string("env", None, "collect only this env's experts (default: all)")
flags.DEFINE_integer("task_index", 0, "this worker's index")
flags.DEFINE_integer("num_tasks", 1, "number of workers the policies are split over")
F = flags.FLAGS


def main(_):
  if F.episodes_per_policy < 1:
    raise OfflineScalingError(f"--episodes_per_policy={F.episodes_per_policy} must be >= 1")
  if not 0 <= F.task_index < F.num_tasks:
    raise OfflineScalingError(
        f"--task_index={F.task_index} must lie in [0, --num_tasks={F.num_tasks})")
  with tqdm(desc="policies", unit="policy") as bar:
    def show(record):
      bar.update()
      bar.set_postfix(policy=record.policy_id, value=f"{record.value:.1f}")
    table = collect.collect_zoo(F.zoo, F.out, F.episodes_per_policy, env=F.env,
                                task_index=F.task_index, num_tasks=F.num_tasks,
                                on_policy=show)
  print(f"policy table: {table}")


if __name__ == "__main__":
  common.run(main)
