r"""Train a zoo of PPO experts on a PyBullet task with bang-bang actions.

    python -m experiments.pybullet_experts --env=hopper --seeds=5 \
        --total_steps=2000000 --checkpoint_every=20000 --workdir=runs/zoo

Every checkpoint (orbax) and its metadata (env, seed, env steps, training
return) lands in `<workdir>/<env>/seed_<s>/checkpoints/<env_steps>/`. Split a
zoo across machines by seed with --task_index/--num_tasks; a killed run
resumes from its last checkpoint with the same command.
"""

from __future__ import annotations

from absl import flags
from tqdm import tqdm

from experiments import common
from offline_scaling.agents import ppo
from offline_scaling.envs import canonical_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import experts

flags.DEFINE_string("env", "hopper", "halfcheetah, hopper, walker2d or ant")
flags.DEFINE_integer("seeds", 5, "train seeds 0..seeds-1 (this task's share of them)")
flags.DEFINE_integer("total_steps", 2_000_000, "env steps per seed")
flags.DEFINE_integer("checkpoint_every", 20_000, "env steps between saved policies")
flags.DEFINE_string("workdir", None, "the zoo directory", required=True)
flags.DEFINE_integer("task_index", 0, "this task's index, for splitting seeds over machines")
flags.DEFINE_integer("num_tasks", 1, "number of tasks the seeds are split over")
flags.DEFINE_integer("num_envs", None, "override PPO's number of parallel envs")
flags.DEFINE_integer("rollout_len", None, "override PPO's steps per env per update")
F = flags.FLAGS


def main(_):
  env = canonical_name(F.env)
  if F.seeds < 1:
    raise OfflineScalingError(f"--seeds={F.seeds} must be at least 1")
  if not 0 <= F.task_index < F.num_tasks:
    raise OfflineScalingError(
        f"--task_index={F.task_index} must lie in [0, --num_tasks={F.num_tasks})")
  config = ppo.default_config()
  if F.num_envs:
    config.num_envs = F.num_envs
  if F.rollout_len:
    config.rollout_len = F.rollout_len
  experts.validate_schedule(config, F.total_steps, F.checkpoint_every)
  for seed in experts.iter_seeds(F.seeds, F.task_index, F.num_tasks):
    with tqdm(total=F.total_steps, desc=f"{env} seed {seed}", unit="step") as bar:
      def show(m):
        bar.n = m["env_steps"]
        bar.set_postfix(ret=f"{m['train_return']:.1f}")
      out = experts.train_expert(env, seed, F.workdir, config, F.total_steps,
                                 F.checkpoint_every, on_update=show)
    print(f"{env} seed {seed}: checkpoints in {out / 'checkpoints'}")


if __name__ == "__main__":
  common.run(main)
