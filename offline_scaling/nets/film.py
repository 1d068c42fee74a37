"""Feature-wise linear modulation (FiLM; Perez et al., 2018): a conditioning
input scales and shifts each feature, so its effect depends on the features."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp


class FiLM(nn.Module):
  """x [B, F], cond [B, C] -> x · (1 + γ(cond)) + β(cond), γ and β dense in cond.

  γ and β start at zero (the identity), so a conditioned network starts as the
  unconditioned one and learns how far the condition moves it. The modulated
  features feed a head: with a linear head, logits = W·x + W·(x ⊙ γ) + W·β,
  whose middle term makes the condition's effect differ from state to state.
  """
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, cond):
    features = x.shape[-1]
    dense = lambda name: nn.Dense(features, kernel_init=nn.initializers.zeros,
                                  bias_init=nn.initializers.zeros, dtype=self.dtype,
                                  name=name)(cond)
    return x * (1.0 + dense("gamma")) + dense("beta")
