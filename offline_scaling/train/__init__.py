"""Training: the generic loop, checkpoints, evaluation, expert training and collection,
and one-call runs per domain (`pybullet_imitation.run`, `atari_run.run`)."""
