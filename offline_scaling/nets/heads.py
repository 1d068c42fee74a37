"""Output heads: C51 distributional with dueling, and a categorical action head."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class DuelingC51Head(nn.Module):
  """Features [B, F] -> return-distribution logits [B, A, atoms].

  Dueling (Wang et al., 2016) on logits, as in Rainbow: logits(s, a) =
  V(s) + A(s, a) − mean_a A(s, a), each a vector over the atoms.
  """
  num_actions: int
  num_atoms: int = 51
  hidden: int = 0            # 0: linear streams; else one hidden layer per stream
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, features):
    def stream(out, name):
      x = features
      if self.hidden:
        x = nn.relu(nn.Dense(self.hidden, dtype=self.dtype, name=f"{name}_hidden")(x))
      return nn.Dense(out, dtype=self.dtype, name=name)(x)
    value = stream(self.num_atoms, "value").reshape(-1, 1, self.num_atoms)
    adv = stream(self.num_actions * self.num_atoms, "advantage").reshape(
        -1, self.num_actions, self.num_atoms)
    return (value + adv - adv.mean(1, keepdims=True)).astype(jnp.float32)


class CategoricalHead(nn.Module):
  """Features [B, F] -> action logits [B, A]."""
  num_actions: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, features):
    return nn.Dense(self.num_actions, dtype=self.dtype)(features).astype(jnp.float32)
