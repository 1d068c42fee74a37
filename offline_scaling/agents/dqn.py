"""DQN (Mnih et al., 2015) as pure functions, set up as Dopamine's MinAtar DQN.

loss = mean_B ℓ(r + γ · discount · max_a' Q_target(s', a') − Q(s, a))

with the TD error from `rlax.q_learning` (no gradient through the target) and
ℓ the Huber loss (δ = 1; `rlax.huber_loss`) or the squared error
(`optax.squared_error`, Dopamine's `mse_loss`: δ², no ½). The batch's
`discount` is 0 after a terminal step and 1 otherwise; γ is applied here.

**Settings (`default_config`), from Dopamine's `dqn_<game>.gin` for MinAtar
and `JaxDQNAgent`'s defaults** (see `shared/notes/minatar_dqn.md`):

* Adam, learning rate 2.5e-4, eps 3.125e-4; γ = 0.99; one-step targets.
* Loss: Huber. Dopamine's MinAtar configs were written (2021, commit 414a675)
  when `JaxDQNAgent`'s loss was Huber; its default became MSE in 2022-04
  without the MinAtar configs changing. The MinAtar reference DQN uses Huber
  too, and Huber's gradient stays bounded on rewards that are not clipped
  (MinAtar's Seaquest can pay 10 in one step). `loss="mse"` gives Dopamine's
  current default.
* Target network: a hard copy of the online parameters after every
  `target_update_period` = 250 *updates*. Dopamine counts its
  `target_update_period = 1000` in agent steps (warm-up included) and updates
  once per `update_period = 4` agent steps, so it copies after every 250th
  update: every 1,000 frames, as the MinAtar reference (one update per frame,
  a copy every 1,000 updates) also does. The count here is `state.step`, the
  updates done; the copy happens inside `update` (jit-able, no host sync).
* Exploration: ε = 1 for the first 1,000 agent steps (Dopamine's
  `min_replay_history`, its warm-up), then linear to 0.01 over 250,000 agent
  steps, then 0.01 (`epsilon`, Dopamine's `linearly_decaying_epsilon`);
  evaluation ε = 0.001.

Dopamine runs these in an online loop (not part of this module) with a replay
of 100,000 transitions, batches of 32, learning from 1,000 stored transitions
on, one update per 4 agent steps, and rewards clipped to [−1, 1].
"""

from __future__ import annotations

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
import rlax

from offline_scaling.agents.base import (Agent, make_target_init, make_target_update,
                                         validate_settings)
from offline_scaling.errors import OfflineScalingError

LOSSES = ("huber", "mse")


def default_config() -> ml_collections.ConfigDict:
  """Dopamine's MinAtar DQN settings (module docstring); steps are agent steps
  (env frames) except `target_update_period`, which counts updates."""
  c = ml_collections.ConfigDict()
  c.learning_rate = 2.5e-4
  c.adam_eps = 3.125e-4
  c.gamma = 0.99
  c.loss = "huber"                  # or "mse" (Dopamine's default since 2022-04)
  c.target_update_period = 250      # updates (Dopamine: 1,000 agent steps, one update per 4)
  c.epsilon_warmup_steps = 1_000    # agent steps at ε = 1 before the decay starts
  c.epsilon_decay_steps = 250_000   # agent steps from ε = 1 down to epsilon_train
  c.epsilon_train = 0.01
  c.epsilon_eval = 0.001
  return c


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks the settings; one `OfflineScalingError` naming the field."""
  validate_settings(config, positive=("learning_rate", "adam_eps"),
                    unit=("gamma", "epsilon_train", "epsilon_eval"),
                    counts=("target_update_period", "epsilon_decay_steps"))
  warmup = config.epsilon_warmup_steps
  if not (isinstance(warmup, int) and not isinstance(warmup, bool) and warmup >= 0):
    raise OfflineScalingError(f"agent setting epsilon_warmup_steps={warmup!r} must be an "
                              "integer >= 0")
  if config.loss not in LOSSES:
    raise OfflineScalingError(f"agent setting loss={config.loss!r} must be one of {LOSSES}")


def epsilon(step, config: ml_collections.ConfigDict):
  """Exploration ε after `step` agent steps (int or int array; float32 result).

  1 up to `epsilon_warmup_steps`, then linear down to `epsilon_train` over
  `epsilon_decay_steps`, then `epsilon_train` (Dopamine's
  `linearly_decaying_epsilon` with warmup = `min_replay_history`).

  Examples:
    >>> c = default_config()
    >>> [round(float(epsilon(s, c)), 4) for s in (0, 1_000, 126_000, 251_000, 10**7)]
    [1.0, 1.0, 0.505, 0.01, 0.01]
  """
  return optax.linear_schedule(1.0, config.epsilon_train, config.epsilon_decay_steps,
                               transition_begin=config.epsilon_warmup_steps)(step)


class QNetwork(nn.Module):
  """torso(obs) -> Q values [B, A] (float32), a linear head on the features.

  Xavier-uniform kernel and zero bias, as Dopamine's MinAtar network's output.
  """
  torso: nn.Module
  num_actions: int

  @nn.compact
  def __call__(self, obs):
    features = self.torso(obs)
    return nn.Dense(self.num_actions, kernel_init=nn.initializers.xavier_uniform(),
                    dtype=getattr(self.torso, "dtype", jnp.float32))(features).astype(jnp.float32)


def td_errors(q, actions, reward, discount, next_target_q):
  """Per-example one-step Q-learning TD errors [B] (`rlax.q_learning`).

  Args:
    q: online Q at s [B, A].
    actions: [B] int actions taken at s.
    reward: [B] rewards.
    discount: [B] γ · (0 after a terminal step, else 1).
    next_target_q: target Q at s' [B, A].

  Returns:
    r + discount · max_a' next_target_q − q[a], no gradient through the target.
  """
  return jax.vmap(rlax.q_learning)(q, actions, reward.astype(jnp.float32),
                                   discount.astype(jnp.float32), next_target_q)


def make_agent(torso: nn.Module, obs_shape: tuple[int, ...], num_actions: int,
               config: ml_collections.ConfigDict, obs_dtype=jnp.uint8) -> Agent:
  """DQN on observations of `obs_shape` (e.g. MinAtar's (10, 10, C) uint8 frames).

  Args:
    torso: observations -> features [B, F] (e.g. `nets.minatar.MinAtarCNN`).
    obs_shape: one observation's shape.
    num_actions: A.
    config: `default_config()` settings (checked by `validate_config`).
    obs_dtype: the observations' dtype.

  Returns:
    An `Agent`: init(rng) -> TargetTrainState; loss(params, batch, rng, target_params=None)
    -> (loss, metrics), the target net being the online one when not given;
    update(state, batch) -> (state, metrics); act(params, obs [N, *obs_shape],
    rng, epsilon=config.epsilon_eval, deterministic=False) -> actions [N] int32.
    Batches hold obs [B, *obs_shape], action int32 [B], reward float32 [B],
    discount float32 [B] (0 after a terminal step, else 1), next_obs.
  """
  validate_config(config)
  net = QNetwork(torso, num_actions)
  optimizer = optax.adam(config.learning_rate, eps=config.adam_eps)
  per_example = ((lambda td: rlax.huber_loss(td, 1.0)) if config.loss == "huber"
                 else optax.squared_error)

  init = make_target_init(lambda key: net.init(key, jnp.zeros((1, *obs_shape), obs_dtype)),
                          optimizer)

  def loss(params, batch, rng, target_params=None):
    del rng
    target_params = params if target_params is None else target_params
    q = net.apply(params, batch["obs"])                                   # [B, A]
    next_q = net.apply(target_params, batch["next_obs"])
    td = td_errors(q, batch["action"], batch["reward"], config.gamma * batch["discount"],
                   next_q)
    return per_example(td).mean(), dict(
        td_abs=jnp.abs(td).mean(),
        q_data=jnp.take_along_axis(q, batch["action"][:, None], -1).mean())

  update = make_target_update(loss, optimizer, config.target_update_period)

  def act(params, obs, rng, epsilon=config.epsilon_eval, deterministic: bool = False):
    """ε-greedy on Q (ties split at random; greedy when deterministic): [N] int32."""
    q = net.apply(params, obs)
    if deterministic:
      return jnp.argmax(q, -1).astype(jnp.int32)
    return distrax.EpsilonGreedy(q, epsilon, dtype=jnp.int32).sample(seed=rng)

  return Agent(name="dqn", init=init, loss=loss, update=update, act=act)
