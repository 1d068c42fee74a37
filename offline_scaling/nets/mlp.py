"""Multi-layer perceptrons."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class MLP(nn.Module):
  """Dense layers with an activation between them (and after the last with
  `activate_output`, for a torso whose features feed a head).

  Attributes:
    features: output width of each layer; the last entry is the output size.
    activation: applied after every layer but the last.
    hidden_scale: orthogonal-init gain of the hidden layers.
    output_scale: orthogonal-init gain of the output layer (small for policy
      logits, 1 for values, as in the PPO literature).
    dtype: compute dtype (bfloat16 on accelerators); parameters stay float32.
    activate_output: apply the activation after the last layer too.
  """
  features: Sequence[int]
  activation: Callable[[jnp.ndarray], jnp.ndarray] = nn.tanh
  hidden_scale: float = float(np.sqrt(2.0))
  output_scale: float = 1.0
  dtype: jnp.dtype = jnp.float32
  activate_output: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    """[..., in] -> [..., features[-1]]."""
    for i, width in enumerate(self.features):
      last = i == len(self.features) - 1
      scale = self.output_scale if last else self.hidden_scale
      x = nn.Dense(width, kernel_init=nn.initializers.orthogonal(scale),
                   bias_init=nn.initializers.zeros, dtype=self.dtype)(x)
      if not last or self.activate_output:
        x = self.activation(x)
    return x
