"""Conservative Q-learning on a C51 (distributional, dueling) network.

loss = C51 TD loss + α · mean(logsumexp_a Q(s, a) − Q(s, a_data))

* C51 TD loss (rlax `categorical_double_q_learning`): cross-entropy between
  the online distribution of (s, a_data) and the target distribution
  r + discount · z projected onto the support z, where the next state's
  distribution comes from the *target* network at the action the *online*
  network prefers there (double DQN). With n-step data, r is the n-step
  discounted reward and discount = γ^n (0 after a terminal state).
* Q(s, a) = Σ_i z_i p_i(s, a), the mean of the distribution.
* The target network is refreshed every `target_update_period` updates.

Batches hold obs, action, reward, discount, next_obs (the `cql` stream).

**Vector observations (PyBullet, `mlp_config`).** The torso is a ReLU MLP
(`mlp_torso`) with the hidden layers of the imitation MLP of `param_count`
parameters (aspect ratio 256), under the dueling C51 head over the 2^D
bang-bang actions. Rewards there are not clipped (a few units per step,
returns in the thousands, negative ones possible), so the loss sees them
scaled by a constant from the data (`reward_scale_for`):
c = V·(1 − γ)/max|r| with V = min(−v_min, v_max) (10 for the default support)
and max|r| the largest one-step |reward| of the dataset. Every discounted
value of the scaled rewards then lies in [−V, V], and so does every n-step
target built from the data and an atom z:
|c·Σ_{j<k} γ^j r_j + γ^k z| ≤ V(1 − γ^k) + γ^k V = V. The C51 projection never
clips mass at the support's edges, and Q sits on the scale it has on Atari,
so α weighs the penalty against the TD loss as it does there. Q values (and
the `q_data` metric) are in scaled units: divide by c for return units.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import rlax

from offline_scaling.agents.base import (Agent, make_target_init, make_target_update,
                                         validate_settings)
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets import MLP
from offline_scaling.nets.heads import DuelingC51Head
from offline_scaling.nets.sizing import hidden_widths


def default_config() -> ml_collections.ConfigDict:
  """The published Rainbow-style offline setup (Dopamine's C51 on DQN Replay)."""
  c = ml_collections.ConfigDict()
  c.alpha = 0.1
  c.num_atoms = 51
  c.v_min = -10.0
  c.v_max = 10.0
  c.learning_rate = 6.25e-5
  c.adam_eps = 1.5e-4
  c.target_update_period = 2_000   # updates (8,000 env steps at one update per 4)
  c.epsilon_eval = 0.001
  c.head_hidden = 0
  return c


def mlp_config() -> ml_collections.ConfigDict:
  """CQL on vector observations (PyBullet): `default_config()` plus the MLP
  torso's size (`param_count`, or explicit `hidden` widths), the compute dtype,
  an MLP learning rate, and greedy evaluation."""
  c = default_config()
  c.algo = "cql"
  c.param_count = 100_000     # sizes the torso as BC's MLP of that size (`mlp_torso`)
  c.hidden = ()               # explicit torso widths instead (e.g. (256,) * 2); () = sized
  c.compute_dtype = "float32"
  c.learning_rate = 3e-4
  # Copied 4x as often as at 1,000: on 6 Hopper PPO checkpoints (20k updates,
  # 100K size, 2 seeds × 10 episodes) greedy returns 1052 against 897.
  c.target_update_period = 250
  c.eval_deterministic = True
  return c


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks the learner settings; one `OfflineScalingError` naming the field."""
  mlp = "param_count" in config
  validate_settings(config, positive=("learning_rate", "adam_eps"),
                    non_negative=("alpha", "head_hidden"), unit=("epsilon_eval",),
                    counts=("target_update_period",) + ("param_count",) * mlp,
                    widths=("hidden",) * mlp)
  if not (isinstance(config.num_atoms, int) and config.num_atoms >= 2):
    raise OfflineScalingError(f"agent setting num_atoms={config.num_atoms!r} must be >= 2")
  if not (math.isfinite(config.v_min) and math.isfinite(config.v_max)
          and config.v_min < config.v_max):
    raise OfflineScalingError(
        f"agent settings v_min={config.v_min}, v_max={config.v_max} must be finite, v_min < v_max")


class C51Network(nn.Module):
  """torso(obs) -> dueling C51 logits [B, A, atoms]."""
  torso: nn.Module
  num_actions: int
  num_atoms: int
  head_hidden: int = 0

  @nn.compact
  def __call__(self, obs):
    return DuelingC51Head(self.num_actions, self.num_atoms, self.head_hidden,
                          dtype=getattr(self.torso, "dtype", jnp.float32))(self.torso(obs))


def support(config: ml_collections.ConfigDict) -> jnp.ndarray:
  """The atoms z [atoms], evenly spaced over [v_min, v_max]."""
  return jnp.linspace(config.v_min, config.v_max, config.num_atoms)


def q_values(logits: jnp.ndarray, atoms: jnp.ndarray) -> jnp.ndarray:
  """Expected returns [..., A] of distribution logits [..., A, atoms]."""
  return (jax.nn.softmax(logits, -1) * atoms).sum(-1)


def c51_td_loss(atoms, logits, actions, reward, discount, next_target_logits, next_online_q):
  """Per-example C51 double-DQN loss [B] (rlax's projection and cross-entropy).

  Args:
    atoms: [atoms] support of the return distribution (return units).
    logits: online net at s [B, A, atoms].
    actions: [B] int actions taken.
    reward: [B] (n-step) rewards.
    discount: [B] discounts (0 where the episode terminated).
    next_target_logits: target net at s' [B, A, atoms].
    next_online_q: online Q at s' [B, A], which picks the next action.
  """
  return jax.vmap(rlax.categorical_double_q_learning, in_axes=(None, 0, 0, 0, 0, None, 0, 0))(
      atoms, logits, actions, reward.astype(jnp.float32), discount.astype(jnp.float32), atoms,
      next_target_logits, next_online_q)


def conservative_penalty(q: jnp.ndarray, actions: jnp.ndarray) -> jnp.ndarray:
  """Per example logsumexp_a Q(s, a) − Q(s, a_data); q [B, A], actions [B] -> [B]."""
  return jax.nn.logsumexp(q, -1) - jnp.take_along_axis(q, actions[:, None], -1)[:, 0]


def mlp_torso(obs_dim: int, num_actions: int, config: ml_collections.ConfigDict) -> MLP:
  """The ReLU torso for observations [B, obs_dim] (`mlp_config` settings).

  `config.hidden` if given; else the hidden layers of the imitation MLP of
  `param_count` parameters on the same env (`nets.sizing.hidden_widths` with
  num_actions outputs): the same aspect-ratio-256 shape BC and RFI get at that
  size. The dueling C51 head on top adds (num_actions + 1)·num_atoms outputs,
  so the whole network is larger than `param_count` (results record its true
  count).
  """
  hidden = hidden_widths(config.param_count, obs_dim, num_actions, config.hidden)
  return MLP(hidden, activation=nn.relu, output_scale=float(np.sqrt(2.0)),
             activate_output=True, dtype=jnp.dtype(config.compute_dtype))


def check_scalable(gamma: float, config: ml_collections.ConfigDict) -> None:
  """Rewards can be scaled into the support (`reward_scale_for`): γ < 1 and
  v_min < 0 < v_max; one `OfflineScalingError` naming the setting otherwise."""
  if not gamma < 1.0:
    raise OfflineScalingError(f"stream setting gamma={gamma} must be < 1 for CQL on unclipped "
                              "rewards: at 1 the discounted value has no bound")
  if not config.v_min < 0.0 < config.v_max:
    raise OfflineScalingError(f"agent settings v_min={config.v_min}, v_max={config.v_max} must "
                              "straddle 0 for rewards of either sign to be scaled into them")


def reward_scale_for(r_min: float, r_max: float, gamma: float,
                     config: ml_collections.ConfigDict) -> float:
  """The constant c rewards are scaled by (see the module docstring).

  Args:
    r_min: the dataset's smallest one-step reward (env units).
    r_max: its largest.
    gamma: the stream's discount per step (< 1).
    config: the agent settings (v_min < 0 < v_max).

  Returns:
    c = min(−v_min, v_max)·(1 − γ)/max(|r_min|, |r_max|).
  """
  check_scalable(gamma, config)
  largest = max(abs(r_min), abs(r_max))
  if largest == 0.0:
    raise OfflineScalingError("every reward of the selected episodes is 0: CQL has no value "
                              "to learn")
  return min(-config.v_min, config.v_max) * (1.0 - gamma) / largest


def make_agent(torso: nn.Module, obs_shape: tuple[int, ...], num_actions: int,
               config: ml_collections.ConfigDict,
               obs_dtype=jnp.uint8, reward_scale: float = 1.0) -> Agent:
  """CQL for observations of `obs_shape` (e.g. (84, 84, 4) uint8 frames or an MLP's (D,)).

  Args:
    torso: observations -> features [B, F] (`ImpalaCNN`, `mlp_torso(...)`).
    obs_shape: one observation's shape.
    num_actions: A.
    config: `default_config()` or `mlp_config()` settings.
    obs_dtype: the observations' dtype (uint8 frames, float32 vectors).
    reward_scale: c, multiplying the batch's (n-step) rewards in the TD target
      (1 for Atari's clipped rewards; `reward_scale_for(...)` for PyBullet).
  """
  net = C51Network(torso, num_actions, config.num_atoms, config.head_hidden)
  atoms = support(config)
  optimizer = optax.adam(config.learning_rate, eps=config.adam_eps)

  init = make_target_init(lambda key: net.init(key, jnp.zeros((1, *obs_shape), obs_dtype)),
                          optimizer)

  def loss(params, batch, rng, target_params=None):
    del rng
    target_params = params if target_params is None else target_params
    logits = net.apply(params, batch["obs"])                          # [B, A, atoms]
    next_online = net.apply(params, batch["next_obs"])
    next_target = jax.lax.stop_gradient(net.apply(target_params, batch["next_obs"]))
    td = c51_td_loss(atoms, logits, batch["action"], reward_scale * batch["reward"],
                     batch["discount"], next_target,
                     jax.lax.stop_gradient(q_values(next_online, atoms)))
    q = q_values(logits, atoms)
    penalty = conservative_penalty(q, batch["action"])
    total = td.mean() + config.alpha * penalty.mean()
    return total, dict(td_loss=td.mean(), cql_penalty=penalty.mean(),
                       q_data=jnp.take_along_axis(q, batch["action"][:, None], -1).mean())

  update = make_target_update(loss, optimizer, config.target_update_period)

  def act(params, obs, rng, epsilon: float = config.epsilon_eval, deterministic: bool = False):
    """ε-greedy on Q (greedy when deterministic); obs [N, *obs_shape] -> [N]."""
    greedy = jnp.argmax(q_values(net.apply(params, obs), atoms), -1)
    if deterministic:
      return greedy
    explore_key, action_key = jax.random.split(rng)
    random = jax.random.randint(action_key, greedy.shape, 0, num_actions)
    return jnp.where(jax.random.uniform(explore_key, greedy.shape) < epsilon, random, greedy)

  return Agent(name="cql", init=init, loss=loss, update=update, act=act)

