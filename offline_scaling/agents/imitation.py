"""Imitation agents on MLPs over bang-bang (discrete) actions: BC, RFI and RCI.

* BC: minimise the negative log-likelihood of the dataset action under a
  categorical policy, −log softmax(f(o))[a].
* RFI: BC on the top-fraction return trajectories; the filter lives in the data
  stream (`algo='rfi'`), the agent is BC.
* RCI: BC conditioned on the trajectory's total return G: the network sees
  [o, embed(u)] with u = (G − G_min)/(G_max − G_min) (`nets.return_embedding`).
  Acting with conditioner c asks for G_min + c·(G_max − G_min), i.e. u = c;
  c > 1 asks for more than any trajectory in the data.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax

from offline_scaling.agents.base import Agent, make_init, make_update
from offline_scaling.nets import MLP
from offline_scaling.nets.return_embedding import (EMBED_DIM, normalized_return,
                                                   square_wave_embedding)
from offline_scaling.nets.sizing import mlp_for_param_count

ALGOS = ("bc", "rfi", "rci")


def default_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.algo = "bc"
  c.param_count = 100_000     # target; the MLP is sized by `mlp_for_param_count`
  c.hidden = ()               # explicit hidden widths instead (e.g. (256,) * 4); () = sized
  c.learning_rate = 3e-4
  c.adam_eps = 1e-8
  c.max_grad_norm = 1.0
  c.compute_dtype = "float32"  # "bfloat16" on accelerators; params stay float32
  c.eval_deterministic = False  # act by sampling, as the experts did
  return c


def make_network(obs_dim: int, num_actions: int, config: ml_collections.ConfigDict) -> MLP:
  """The policy MLP (ReLU): `config.hidden` if given, else width ≈ 256 × depth
  sized for `config.param_count`."""
  in_dim = obs_dim + (EMBED_DIM if config.algo == "rci" else 0)
  hidden = tuple(config.hidden)
  if not hidden:
    depth, width = mlp_for_param_count(config.param_count, in_dim, num_actions)
    hidden = (width,) * depth
  return MLP(hidden + (num_actions,), activation=nn.relu,
             output_scale=1.0, dtype=jnp.dtype(config.compute_dtype))


def nll(logits: jnp.ndarray, actions: jnp.ndarray) -> jnp.ndarray:
  """Mean −log p(a) under softmax(logits); logits [B, A], actions [B] int."""
  return optax.softmax_cross_entropy_with_integer_labels(
      logits.astype(jnp.float32), actions).mean()


def make_agent(obs_dim: int, num_actions: int, config: ml_collections.ConfigDict,
               g_min: float = 0.0, g_max: float = 1.0) -> Agent:
  """BC / RFI / RCI for observations of size obs_dim and num_actions actions.

  Args:
    g_min, g_max: the training data's smallest / largest trajectory return
      (RCI only).

  Batches hold obs [B, obs_dim] float32, action [B] int32 and, for RCI,
  episode_return [B].
  """
  if config.algo not in ALGOS:
    raise ValueError(f"imitation algo '{config.algo}' is not one of {ALGOS}")
  net = make_network(obs_dim, num_actions, config)
  conditioned = config.algo == "rci"
  optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                          optax.adam(config.learning_rate, eps=config.adam_eps))

  def inputs(obs, u):
    obs = obs.astype(jnp.float32)
    return jnp.concatenate([obs, square_wave_embedding(u)], -1) if conditioned else obs

  def loss(params, batch, rng):
    del rng
    u = normalized_return(batch["episode_return"], g_min, g_max) if conditioned else None
    logits = net.apply(params, inputs(batch["obs"], u))
    value = nll(logits, batch["action"])
    accuracy = (jnp.argmax(logits, -1) == batch["action"]).mean()
    return value, dict(nll=value, accuracy=accuracy)

  def act(params, obs, rng, conditioner: float = 1.0, deterministic: bool = False):
    u = jnp.full(obs.shape[:-1], conditioner, jnp.float32) if conditioned else None
    logits = net.apply(params, inputs(obs, u)).astype(jnp.float32)
    if deterministic:
      return jnp.argmax(logits, -1)
    return jax.random.categorical(rng, logits)

  net_init = lambda key: net.init(key, jnp.zeros((1, obs_dim + EMBED_DIM * conditioned)))
  return Agent(name=config.algo, init=make_init(net_init, optimizer), loss=loss,
               update=make_update(loss, optimizer), act=act)


def param_count(params) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(params))
