"""Running mean and variance, for observation normalisation."""

from __future__ import annotations

import flax.struct
import jax.numpy as jnp


@flax.struct.dataclass
class RunningStats:
  """Mean/variance of everything seen so far, merged batch by batch (Chan et al.).

  Attributes:
    mean: [D] float32.
    var: [D] float32 (population variance).
    count: scalar float32, number of vectors seen (starts at a tiny epsilon so
      the first merge is well defined).
  """
  mean: jnp.ndarray
  var: jnp.ndarray
  count: jnp.ndarray

  @classmethod
  def create(cls, dim: int) -> "RunningStats":
    """Statistics of nothing seen yet for D = `dim`: mean 0, var 1."""
    return cls(mean=jnp.zeros((dim,), jnp.float32), var=jnp.ones((dim,), jnp.float32),
               count=jnp.asarray(1e-4, jnp.float32))

  def update(self, x: jnp.ndarray) -> "RunningStats":
    """Merges a batch x of shape [..., D]."""
    x = x.reshape(-1, x.shape[-1]).astype(jnp.float32)
    n = jnp.asarray(x.shape[0], jnp.float32)
    batch_mean, batch_var = x.mean(0), x.var(0)
    total = self.count + n
    delta = batch_mean - self.mean
    mean = self.mean + delta * n / total
    m2 = self.var * self.count + batch_var * n + delta ** 2 * self.count * n / total
    return RunningStats(mean=mean, var=m2 / total, count=total)

  def normalize(self, x: jnp.ndarray, clip: float = 10.0) -> jnp.ndarray:
    """(x - mean) / std, clipped to [-clip, clip]; x is [..., D]."""
    return jnp.clip((x - self.mean) / jnp.sqrt(self.var + 1e-8), -clip, clip)
