"""PPO with a categorical policy (over the 2^D bang-bang actions), as pure functions.

The environment steps on the host; everything else (GAE, advantage
normalisation, several epochs of shuffled minibatches, observation statistics)
happens in one jitted `update` per rollout, PureJaxRL style.

Shapes: T = rollout length, N = number of envs, D = observation size,
A = number of actions.
"""

from __future__ import annotations

import functools
from typing import Any

import distrax
import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import optax

from offline_scaling.agents.running_stats import RunningStats
from offline_scaling.nets import MLP


def default_config() -> ml_collections.ConfigDict:
  """PPO hyper-parameters; Stable-Baselines3's defaults where they apply."""
  c = ml_collections.ConfigDict()
  c.num_envs = 8
  c.rollout_len = 250          # steps per env per update: 8 × 250 = 2000 env steps
  c.epochs = 10
  c.num_minibatches = 25       # minibatch of 80 transitions
  c.learning_rate = 3e-4
  c.anneal_lr = False
  c.gamma = 0.99
  c.gae_lambda = 0.95
  c.clip_eps = 0.2
  c.vf_coef = 0.5
  c.ent_coef = 0.0
  c.max_grad_norm = 0.5
  c.hidden = (64, 64)
  c.normalize_obs = True
  c.total_steps = 2_000_000    # only used when anneal_lr is on
  return c


class ActorCritic(nn.Module):
  """Separate tanh MLPs for policy logits [..., A] and value [...]."""
  num_actions: int
  hidden: tuple[int, ...] = (64, 64)

  @nn.compact
  def __call__(self, obs):
    logits = MLP((*self.hidden, self.num_actions), output_scale=0.01, name="actor")(obs)
    value = MLP((*self.hidden, 1), output_scale=1.0, name="critic")(obs)
    return logits, value[..., 0]


@flax.struct.dataclass
class Policy:
  """Everything needed to act: network params and the observation statistics."""
  params: Any
  obs_stats: RunningStats
  num_actions: int = flax.struct.field(pytree_node=False)
  hidden: tuple[int, ...] = flax.struct.field(pytree_node=False)

  def apply(self, obs: jnp.ndarray, normalize: bool = True):
    """Raw obs [..., D] -> (logits [..., A], value [...])."""
    x = self.obs_stats.normalize(obs) if normalize else obs
    return ActorCritic(self.num_actions, self.hidden).apply(self.params, x)


@flax.struct.dataclass
class TrainState:
  """PPO learner state. `env_steps` counts environment steps trained on."""
  policy: Policy
  opt_state: Any
  env_steps: jnp.ndarray
  rng: jnp.ndarray


def make_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Adam (eps 1e-5) after global-norm clipping; the learning rate decays linearly to 0
  over `total_steps` env steps when `anneal_lr`."""
  steps_per_update = config.num_envs * config.rollout_len
  grad_steps_per_update = config.epochs * config.num_minibatches
  if config.anneal_lr:
    num_updates = max(config.total_steps // steps_per_update, 1)
    lr = optax.linear_schedule(config.learning_rate, 0.0,
                               num_updates * grad_steps_per_update)
  else:
    lr = config.learning_rate
  return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                     optax.adam(lr, eps=1e-5))


def init(rng: jax.Array, obs_dim: int, num_actions: int,
         config: ml_collections.ConfigDict) -> TrainState:
  """A fresh learner for observations of size obs_dim and num_actions actions."""
  rng, init_rng = jax.random.split(rng)
  hidden = tuple(config.hidden)
  params = ActorCritic(num_actions, hidden).init(init_rng, jnp.zeros((1, obs_dim)))
  policy = Policy(params=params, obs_stats=RunningStats.create(obs_dim),
                  num_actions=num_actions, hidden=hidden)
  return TrainState(policy=policy, opt_state=make_optimizer(config).init(params),
                    env_steps=jnp.zeros((), jnp.int32), rng=rng)


@functools.partial(jax.jit, static_argnames=("deterministic",))
def act(policy: Policy, obs: jnp.ndarray, rng: jax.Array, deterministic: bool = False):
  """Actions [...] for raw observations [..., D]: a sample, or the mode."""
  logits, _ = policy.apply(obs)
  if deterministic:
    return jnp.argmax(logits, -1)
  return jax.random.categorical(rng, logits)


@jax.jit
def policy_step(policy: Policy, obs: jnp.ndarray, rng: jax.Array):
  """For rollouts: (action [N], log-prob [N], value [N]) for raw obs [N, D]."""
  logits, value = policy.apply(obs)
  dist = distrax.Categorical(logits=logits)
  action = dist.sample(seed=rng)
  return action, dist.log_prob(action), value


@jax.jit
def value(policy: Policy, obs: jnp.ndarray) -> jnp.ndarray:
  """State values [...] for raw observations [..., D]."""
  return policy.apply(obs)[1]


def gae(rewards, values, dones, last_value, gamma: float, lam: float):
  """Generalised advantage estimation over a rollout.

  Args:
    rewards: [T, N], reward of step t (with γ·V(final obs) already added at
      truncations, so a truncation can be treated as an episode end).
    values: [T, N], V(s_t).
    dones: [T, N], 1.0 where the episode ended after step t.
    last_value: [N], V(s_T) of the observation after the rollout.

  Returns:
    (advantages [T, N], returns [T, N]) with returns = advantages + values.
  """
  def step(carry, xs):
    next_adv, next_value = carry
    reward, value_t, done = xs
    not_done = 1.0 - done
    delta = reward + gamma * next_value * not_done - value_t
    adv = delta + gamma * lam * not_done * next_adv
    return (adv, value_t), adv

  _, advantages = jax.lax.scan(step, (jnp.zeros_like(last_value), last_value),
                               (rewards, values, dones), reverse=True)
  return advantages, advantages + values


def loss(params, policy: Policy, batch: dict, config: ml_collections.ConfigDict):
  """PPO loss on a minibatch of B transitions.

  Args:
    params: actor-critic params being optimised.
    policy: supplies the (fixed) observation statistics and architecture.
    batch: obs [B, D] raw, actions [B], log_probs [B] (behaviour), advantages
      [B], returns [B].

  Returns:
    (loss, metrics): loss = clipped surrogate + vf_coef·mean((V − R)²)
    − ent_coef·entropy, with advantages normalised within the minibatch.
  """
  logits, value_pred = policy.replace(params=params).apply(batch["obs"])
  dist = distrax.Categorical(logits=logits)
  log_prob = dist.log_prob(batch["actions"])
  adv = batch["advantages"]
  adv = (adv - adv.mean()) / (adv.std() + 1e-8)
  policy_loss = clipped_surrogate_loss(log_prob, batch["log_probs"], adv, config.clip_eps)
  value_loss = ((value_pred - batch["returns"]) ** 2).mean()
  entropy = dist.entropy().mean()
  total = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
  ratio = jnp.exp(log_prob - batch["log_probs"])
  metrics = dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy,
                 approx_kl=((ratio - 1) - jnp.log(ratio)).mean(),
                 clip_frac=(jnp.abs(ratio - 1) > config.clip_eps).mean())
  return total, metrics


def clipped_surrogate_loss(log_prob, old_log_prob, advantages, clip_eps: float):
  """−mean(min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A)) with ρ = exp(log π − log π_old); all [B]."""
  ratio = jnp.exp(log_prob - old_log_prob)
  clipped = jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps)
  return -jnp.minimum(ratio * advantages, clipped * advantages).mean()


def update(state: TrainState, rollout: dict, config: ml_collections.ConfigDict):
  """One PPO update from a rollout; jit it with `make_update`.

  Args:
    state: the learner.
    rollout: obs [T, N, D] raw, actions [T, N], log_probs [T, N], values
      [T, N], rewards [T, N] (truncations bootstrapped), dones [T, N],
      last_obs [N, D].

  Returns:
    (state, metrics averaged over all minibatches). The observation statistics
    absorb the rollout's observations after the gradient steps, so the
    gradient steps see the same normalisation the rollout acted with.
  """
  policy = state.policy
  last_value = policy.apply(rollout["last_obs"])[1]
  advantages, returns = gae(rollout["rewards"], rollout["values"], rollout["dones"],
                            last_value, config.gamma, config.gae_lambda)
  flat = {k: rollout[k].reshape(-1, *rollout[k].shape[2:])
          for k in ("obs", "actions", "log_probs")}
  flat["advantages"] = advantages.reshape(-1)
  flat["returns"] = returns.reshape(-1)
  num = flat["advantages"].shape[0]
  optimizer = make_optimizer(config)
  grad_fn = jax.grad(loss, has_aux=True)

  def minibatch_step(carry, idx):
    params, opt_state = carry
    batch = jax.tree.map(lambda x: x[idx], flat)
    grads, metrics = grad_fn(params, policy, batch, config)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), metrics

  def epoch(carry, rng):
    perm = jax.random.permutation(rng, num).reshape(config.num_minibatches, -1)
    return jax.lax.scan(minibatch_step, carry, perm)

  rng, *epoch_rngs = jax.random.split(state.rng, config.epochs + 1)
  (params, opt_state), metrics = jax.lax.scan(
      epoch, (policy.params, state.opt_state), jnp.stack(epoch_rngs))
  obs_stats = policy.obs_stats
  if config.normalize_obs:
    obs_stats = obs_stats.update(rollout["obs"])
  new_state = TrainState(policy=policy.replace(params=params, obs_stats=obs_stats),
                         opt_state=opt_state,
                         env_steps=state.env_steps + num, rng=rng)
  return new_state, jax.tree.map(jnp.mean, metrics)


def make_update(config: ml_collections.ConfigDict):
  """`update` jitted for a fixed config, with the old state's buffers donated."""
  frozen = ml_collections.FrozenConfigDict(config)
  if (config.num_envs * config.rollout_len) % config.num_minibatches:
    raise ValueError(
        f"num_envs × rollout_len = {config.num_envs * config.rollout_len} is not "
        f"divisible by num_minibatches = {config.num_minibatches}")
  return jax.jit(functools.partial(update, config=frozen), donate_argnums=0)
