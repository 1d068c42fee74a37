import jax
import jax.numpy as jnp
import numpy as np
import pytest

from offline_scaling.agents import imitation
from offline_scaling.nets import MLP
from offline_scaling.nets.return_embedding import (normalized_return, resolution,
                                                   square_wave_embedding)
from offline_scaling.nets.sizing import count_params, example_input, mlp_for_param_count

# target -> (depth, width) for obs 26, 64 actions; exact counts checked via eval_shape.
SIZES = {10_000: (1, 109), 100_000: (2, 273), 1_000_000: (3, 684), 10_000_000: (6, 1405),
         100_000_000: (12, 3010), 300_000_000: (17, 4327)}


@pytest.mark.parametrize("target", sorted(SIZES))
def test_mlp_for_param_count_table(target):
  depth, width = mlp_for_param_count(target, 26, 64)
  assert (depth, width) == SIZES[target]
  exact = count_params(MLP((width,) * depth + (64,)), example_input(26))
  assert abs(exact - target) / target < 0.005
  # No other width at this depth gets closer.
  for w in (width - 1, width + 1):
    other = count_params(MLP((w,) * depth + (64,)), example_input(26))
    assert abs(other - target) >= abs(exact - target)
  if depth > 1:
    assert 100 <= width / depth <= 300  # aspect ratio ≈ 256


@pytest.mark.parametrize("periods", [16, 6])
def test_return_embedding_bounded_and_resolving(periods):
  res = resolution(periods)
  u = np.arange(-1, 3, res / 3)[:4000]
  codes = np.asarray(square_wave_embedding(u, periods))
  assert codes.shape == (len(u), 2 * periods) and set(np.unique(codes)) == {-1.0, 1.0}
  # Returns closer than the resolution share a code; 3 per cell at this spacing.
  assert len(u) / 3 <= len({tuple(c) for c in codes}) <= len(u) / 3 + 2
  rng = np.random.default_rng(0)
  a = rng.uniform(-1, 2.9, 500)
  b = a + rng.uniform(1.01, 50, 500) * res
  differ = np.any(square_wave_embedding(a, periods) != square_wave_embedding(b, periods), axis=-1)
  assert differ.all()
  assert np.all(np.abs(square_wave_embedding(np.array([-1e6, 1e6]), periods)) == 1)
  np.testing.assert_allclose(normalized_return(15.0, 10.0, 20.0), 0.5)
  np.testing.assert_allclose(normalized_return(3.0, 2.0, 2.0), 0.0)  # degenerate range


def test_bc_loss_hand_computed():
  logits = jnp.array([[0.0, np.log(3.0)], [np.log(2.0), 0.0]])
  # p(a=1 | row 0) = 3/4, p(a=1 | row 1) = 1/3
  np.testing.assert_allclose(imitation.nll(logits, jnp.array([1, 1])),
                             (np.log(4 / 3) + np.log(3)) / 2, rtol=1e-6)


@pytest.mark.parametrize("algo", ["bc", "rci"])
def test_agent_fits_a_deterministic_expert(algo):
  """On obs → action = argmax(obs[:4]), a few hundred updates reach > 95% accuracy."""
  config = imitation.default_config()
  config.algo, config.param_count, config.learning_rate = algo, 20_000, 1e-3
  agent = imitation.make_agent(6, 4, config, g_min=0.0, g_max=10.0)
  state = agent.init(jax.random.PRNGKey(0))
  update = jax.jit(agent.update)
  rng = np.random.default_rng(0)
  for _ in range(300):
    obs = rng.normal(size=(128, 6)).astype(np.float32)
    batch = dict(obs=obs, action=obs[:, :4].argmax(-1),
                 episode_return=rng.uniform(0, 10, 128).astype(np.float32))
    state, metrics = update(state, batch)
  assert int(state.step) == 300 and float(metrics["accuracy"]) > 0.95
  obs = rng.normal(size=(256, 6)).astype(np.float32)
  acts = agent.act(state.params, obs, jax.random.PRNGKey(1), deterministic=True)
  assert (np.asarray(acts) == obs[:, :4].argmax(-1)).mean() > 0.95


@pytest.mark.parametrize("periods", [16, 4])
def test_rci_conditioning_changes_the_policy(periods):
  """Data where the action is 0 on low-return and 1 on high-return trajectories;
  the coarse code (4 periods, 8-d) resolves them as well as the default."""
  config = imitation.default_config()
  config.algo, config.param_count, config.learning_rate = "rci", 20_000, 1e-3
  config.return_code_periods = periods
  agent = imitation.make_agent(3, 2, config, g_min=0.0, g_max=100.0)
  state = agent.init(jax.random.PRNGKey(0))
  update = jax.jit(agent.update)
  rng = np.random.default_rng(0)
  for _ in range(300):
    g = rng.choice([0.0, 100.0], 128).astype(np.float32)
    state, _ = update(state, dict(obs=rng.normal(size=(128, 3)).astype(np.float32),
                                  action=(g > 50).astype(np.int32), episode_return=g))
  obs = rng.normal(size=(200, 3)).astype(np.float32)
  low = agent.act(state.params, obs, jax.random.PRNGKey(0), conditioner=0.0, deterministic=True)
  high = agent.act(state.params, obs, jax.random.PRNGKey(0), conditioner=1.0, deterministic=True)
  assert np.mean(np.asarray(low) == 0) > 0.95 and np.mean(np.asarray(high) == 1) > 0.95
