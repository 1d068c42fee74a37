"""What every offline agent is: pure functions over an explicit `TrainState`."""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import optax

from offline_scaling.errors import OfflineScalingError

COMPUTE_DTYPES = ("float32", "bfloat16", "float16")


@flax.struct.dataclass
class TrainState:
  """Learner state; a pytree (one per seed; the loop stacks seeds on axis 0).

  Attributes:
    params: network parameters.
    opt_state: optimizer state.
    step: updates done (int32 scalar).
    rng: PRNG key for stochastic losses.
  """
  params: Any
  opt_state: Any
  step: jnp.ndarray
  rng: jax.Array


class Agent(NamedTuple):
  """The bundle of pure functions an algorithm provides.

  init(rng) -> TrainState
  loss(params, batch, rng) -> (loss, metrics)
  update(state, batch) -> (state, metrics)       (one gradient step)
  act(params, obs [N, *obs], rng, **kwargs) -> actions [N]
  """
  name: str
  init: Callable[[jax.Array], TrainState]
  loss: Callable[..., tuple[jnp.ndarray, dict]]
  update: Callable[[TrainState, dict], tuple[TrainState, dict]]
  act: Callable[..., jnp.ndarray]


def make_init(net_init: Callable[[jax.Array], Any], optimizer: optax.GradientTransformation
              ) -> Callable[[jax.Array], TrainState]:
  """init(rng): params from `net_init`, a fresh optimizer state, step 0."""
  def init(rng):
    rng, key = jax.random.split(rng)
    params = net_init(key)
    return TrainState(params=params, opt_state=optimizer.init(params),
                      step=jnp.zeros((), jnp.int32), rng=rng)
  return init


def make_update(loss: Callable, optimizer: optax.GradientTransformation
                ) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """update(state, batch): one gradient step of `loss`, metrics include 'loss'."""
  def update(state, batch):
    rng, key = jax.random.split(state.rng)
    (value, metrics), grads = jax.value_and_grad(loss, has_aux=True)(state.params, batch, key)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    metrics = dict(metrics, loss=value, grad_norm=optax.global_norm(grads))
    return TrainState(params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                      step=state.step + 1, rng=rng), metrics
  return update


@flax.struct.dataclass
class TargetTrainState:
  """Learner state of a value-based agent with a target network (CQL, DQN):
  online and target params, optimizer state, updates done, rng."""
  params: Any
  target_params: Any
  opt_state: Any
  step: jnp.ndarray
  rng: jax.Array


def make_target_init(net_init: Callable[[jax.Array], Any],
                     optimizer: optax.GradientTransformation
                     ) -> Callable[[jax.Array], TargetTrainState]:
  """init(rng): params from `net_init`, the target a copy of them, step 0."""
  def init(rng):
    rng, key = jax.random.split(rng)
    params = net_init(key)
    # A copy: donating a state whose two trees share buffers would fail.
    return TargetTrainState(params=params, target_params=jax.tree.map(jnp.copy, params),
                            opt_state=optimizer.init(params),
                            step=jnp.zeros((), jnp.int32), rng=rng)
  return init


def make_target_update(loss: Callable, optimizer: optax.GradientTransformation,
                       target_update_period: int
                       ) -> Callable[[TargetTrainState, dict], tuple[TargetTrainState, dict]]:
  """update(state, batch): one gradient step of `loss(params, batch, rng,
  target_params)`, then the target becomes a copy of the params every
  `target_update_period` updates (`optax.periodic_update`); metrics include 'loss'."""
  def update(state, batch):
    rng, key = jax.random.split(state.rng)
    grad_fn = jax.value_and_grad(lambda p: loss(p, batch, key, state.target_params),
                                 has_aux=True)
    (value, metrics), grads = grad_fn(state.params)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    step = state.step + 1
    target = optax.periodic_update(params, state.target_params, step, target_update_period)
    metrics = dict(metrics, loss=value, grad_norm=optax.global_norm(grads))
    return TargetTrainState(params=params, target_params=target, opt_state=opt_state,
                            step=step, rng=rng), metrics
  return update


def validate_settings(config, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
                      counts: tuple[str, ...] = (), unit: tuple[str, ...] = (),
                      widths: tuple[str, ...] = ()) -> None:
  """Checks an agent config; one `OfflineScalingError` naming the field.

  Args:
    config: the agent's config.
    positive: fields that must be finite numbers > 0.
    non_negative: fields that must be finite numbers >= 0.
    counts: fields that must be integers >= 1.
    unit: fields that must lie in [0, 1].
    widths: fields that must be sequences of integers >= 1 (layer widths).
  """
  def number(field):
    value = config[field]
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))

  for field in positive + non_negative + unit:
    bound = (">= 0" if field in non_negative else "in [0, 1]" if field in unit else "> 0")
    value = config[field]
    if not number(field) or value < 0 or (field in positive and value == 0) or (
        field in unit and value > 1):
      raise OfflineScalingError(f"agent setting {field}={value!r} must be a finite number {bound}")
  for field in counts:
    if not (isinstance(config[field], int) and config[field] >= 1):
      raise OfflineScalingError(f"agent setting {field}={config[field]!r} must be an integer >= 1")
  for field in widths:
    if not all(isinstance(w, int) and w >= 1 for w in config[field]):
      raise OfflineScalingError(f"agent setting {field}={config[field]!r} must be widths >= 1")
  if "compute_dtype" in config and config.compute_dtype not in COMPUTE_DTYPES:
    raise OfflineScalingError(
        f"agent setting compute_dtype={config.compute_dtype!r} must be one of {COMPUTE_DTYPES}")
