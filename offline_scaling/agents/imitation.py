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

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax

from offline_scaling.agents.base import Agent, make_init, make_update, validate_settings
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets import MLP
from offline_scaling.nets.film import FiLM
from offline_scaling.nets.return_embedding import (MAX_PERIODS, NUM_PERIODS, code_size,
                                                   normalized_return, square_wave_embedding)
from offline_scaling.nets.sizing import hidden_widths

ALGOS = ("bc", "rfi", "rci")
CONDITIONINGS = ("input", "film")


def default_config() -> ml_collections.ConfigDict:
  """Agent settings: algorithm, network size, optimiser, compute dtype, evaluation mode."""
  c = ml_collections.ConfigDict()
  c.algo = "bc"
  c.param_count = 100_000     # target; the MLP is sized by `mlp_for_param_count`
  c.hidden = ()               # explicit hidden widths instead (e.g. (256,) * 4); () = sized
  c.learning_rate = 3e-4
  c.adam_eps = 1e-8
  c.max_grad_norm = 1.0
  c.compute_dtype = "float32"  # "bfloat16" on accelerators; params stay float32
  # Act by the policy's mode. Sampling from a policy imitating many experts
  # mixes their gaits step by step: on Hopper (expertise 1.0, 320K params) the
  # same RFI model returned 880 sampled and 1768 greedy (docs/reproduction.md).
  c.eval_deterministic = True
  # RCI's return code: 2·P dims resolving u to 2^−(P−1) of the return range
  # (`nets.return_embedding`); 16 resolves single trajectories.
  c.return_code_periods = NUM_PERIODS
  # A shift of u before coding, in units of the return range, in [0, 1): 0 is the
  # paper's code, whose edges fall on its conditioners; 1/3 moves every edge off
  # them, keeping the code's shape and resolution (`nets.return_embedding`).
  c.return_code_offset = 0.0
  # How the code enters the network: "input" appends it to the head's input (the
  # MLP's hidden layers mix it with the observation); "film" scales and shifts
  # the features the head reads by it (`nets.film`), which a linear head over a
  # CNN torso needs: appended there, the return would shift every state's logits alike.
  c.return_conditioning = "input"
  return c


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks the learner settings; one `OfflineScalingError` naming the field."""
  if config.algo not in ALGOS:
    raise OfflineScalingError(f"algo {config.algo!r} is not one of {ALGOS}")
  validate_settings(config, positive=("learning_rate", "adam_eps", "max_grad_norm"),
                    counts=("param_count",), widths=("hidden",))
  if not 1 <= config.return_code_periods <= MAX_PERIODS:
    raise OfflineScalingError(f"return_code_periods={config.return_code_periods} must be in "
                              f"[1, {MAX_PERIODS}] (finer codes pass float32's resolution)")
  if config.return_conditioning not in CONDITIONINGS:
    raise OfflineScalingError(f"return_conditioning={config.return_conditioning!r} must be "
                              f"one of {CONDITIONINGS}")
  if not 0 <= config.return_code_offset < 1:
    raise OfflineScalingError(f"return_code_offset={config.return_code_offset} must be in "
                              "[0, 1) (a shift of u, in units of the return range)")


def make_head(in_dim: int, num_actions: int, config: ml_collections.ConfigDict) -> MLP:
  """The policy MLP (ReLU) on in_dim inputs: `config.hidden` if given, else
  width ≈ 256 × depth sized for `config.param_count`."""
  hidden = hidden_widths(config.param_count, in_dim, num_actions, config.hidden)
  return MLP(hidden + (num_actions,), activation=nn.relu,
             output_scale=1.0, dtype=jnp.dtype(config.compute_dtype))


class PolicyNetwork(nn.Module):
  """obs (and, for RCI, u) -> action logits [B, A].

  x = torso(obs) if there is a torso (Atari) else obs; RCI codes u
  (`num_periods` periods, shifted by `code_offset`) and, by `conditioning`,
  appends the code to x ("input") or modulates x by it ("film", `nets.film`);
  the head maps x to logits.
  """
  head: nn.Module
  torso: nn.Module | None = None
  conditioned: bool = False
  num_periods: int = NUM_PERIODS
  code_offset: float = 0.0
  conditioning: str = "input"

  @nn.compact
  def __call__(self, obs, u=None):
    x = self.torso(obs) if self.torso is not None else obs.astype(jnp.float32)
    if self.conditioned:
      code = square_wave_embedding(u, self.num_periods, self.code_offset)
      x = x.astype(jnp.float32)
      x = FiLM()(x, code) if self.conditioning == "film" else jnp.concatenate([x, code], -1)
    return self.head(x).astype(jnp.float32)


def policy_network(obs_shape: tuple[int, ...], num_actions: int,
                   config: ml_collections.ConfigDict,
                   torso: nn.Module | None = None) -> PolicyNetwork:
  """The network `make_agent` trains: the sized MLP on obs (+ the code, for RCI
  with "input" conditioning), or `torso` then one dense layer."""
  conditioned = config.algo == "rci"
  if torso is None:
    appended = code_size(config.return_code_periods) * (
        conditioned and config.return_conditioning == "input")
    head = make_head(obs_shape[0] + appended, num_actions, config)
  else:
    head = MLP((num_actions,), output_scale=1.0, dtype=jnp.dtype(config.compute_dtype))
  return PolicyNetwork(head, torso, conditioned, config.return_code_periods,
                       config.return_code_offset, config.return_conditioning)


def nll(logits: jnp.ndarray, actions: jnp.ndarray) -> jnp.ndarray:
  """Mean −log p(a) under softmax(logits); logits [B, A], actions [B] int."""
  return optax.softmax_cross_entropy_with_integer_labels(
      logits.astype(jnp.float32), actions).mean()


def make_agent(obs_shape: int | tuple[int, ...], num_actions: int,
               config: ml_collections.ConfigDict, g_min: float = 0.0, g_max: float = 1.0,
               torso: nn.Module | None = None, obs_dtype=jnp.float32) -> Agent:
  """BC / RFI / RCI for observations of `obs_shape` and num_actions actions.

  Args:
    obs_shape: (D,) (or D) for vector observations; e.g. (84, 84, 4) with a torso.
    g_min: the training data's smallest trajectory return (RCI only).
    g_max: the training data's largest trajectory return (RCI only).
    torso: a feature extractor (e.g. `ImpalaCNN`); then the head is a single
      dense layer on its features (+ the return embedding). Without one, the
      head is the MLP sized by `param_count` on the raw observation.

  Batches hold obs [B, *obs_shape], action [B] int32 and, for RCI,
  episode_return [B].
  """
  if config.algo not in ALGOS:
    raise ValueError(f"imitation algo '{config.algo}' is not one of {ALGOS}")
  obs_shape = (obs_shape,) if isinstance(obs_shape, int) else tuple(obs_shape)
  conditioned = config.algo == "rci"
  net = policy_network(obs_shape, num_actions, config, torso)
  optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                          optax.adam(config.learning_rate, eps=config.adam_eps))

  def loss(params, batch, rng):
    del rng
    u = normalized_return(batch["episode_return"], g_min, g_max) if conditioned else None
    logits = net.apply(params, batch["obs"], u)
    value = nll(logits, batch["action"])
    accuracy = (jnp.argmax(logits, -1) == batch["action"]).mean()
    return value, dict(nll=value, accuracy=accuracy)

  def act(params, obs, rng, conditioner: float = 1.0, deterministic: bool = False):
    u = jnp.full(obs.shape[:1], conditioner, jnp.float32) if conditioned else None
    logits = net.apply(params, obs, u)
    if deterministic:
      return jnp.argmax(logits, -1)
    return jax.random.categorical(rng, logits)

  net_init = lambda key: net.init(key, jnp.zeros((1, *obs_shape), obs_dtype),
                                  jnp.zeros((1,)) if conditioned else None)
  return Agent(name=config.algo, init=make_init(net_init, optimizer), loss=loss,
               update=make_update(loss, optimizer), act=act)
