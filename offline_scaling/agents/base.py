"""What every offline agent is: pure functions over an explicit `TrainState`."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
import optax


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
