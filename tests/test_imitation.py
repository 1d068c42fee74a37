import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from offline_scaling.agents import imitation
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets import MLP
from offline_scaling.nets.return_embedding import (flipped_bits, normalized_return, resolution,
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


# The paper's conditioners, with k: c + 1 = (odd) · 2^−k (k < 0 read as 0).
PAPER_C = {0.5: 1, 0.75: 2, 1.0: 0, 1.25: 2, 1.5: 1}


def _paper_code(u, periods):
  """The square-wave code as written before the shift existed (the reference)."""
  t = 4.0 * 2.0 ** -jnp.arange(periods, dtype=jnp.float32)
  phase = 2 * jnp.pi * (jnp.asarray(u, jnp.float32)[..., None] + 1.0) / t
  waves = jnp.stack([jnp.sin(phase), jnp.cos(phase)], -1).reshape(*phase.shape[:-1], 2 * periods)
  return np.asarray(jnp.where(waves >= 0, 1.0, -1.0))


@pytest.mark.parametrize("periods", [16, 6])
def test_the_paper_code_sits_its_conditioners_on_its_edges(periods):
  # At c + 1 = (odd) · 2^−k every pair j ≥ k flips one bit: P − k bits change
  # just below c; float32's ties go upward, so just above c nothing changes.
  just = resolution(periods) / 32
  for c, k in PAPER_C.items():
    assert flipped_bits(c, just, periods) == (periods - k, 0), c
  assert flipped_bits(1.0, 1e-4) == (16, 2)          # 1e-4 is 3.3 cells of 2^−15 above
  assert flipped_bits(1.0, 1e-4, num_periods=6) == (6, 0)
  # Away from the edges a step inside one cell flips nothing.
  assert flipped_bits(1.0 + resolution(periods) / 2, resolution(periods) / 4, periods) == (0, 0)


@pytest.mark.parametrize("periods", [16, 6])
def test_the_default_offset_is_the_paper_code_bit_for_bit(periods):
  u = np.concatenate([np.arange(-1, 3, resolution(periods) / 2)[:5000],
                      np.random.default_rng(0).uniform(-1, 3, 2000)]).astype(np.float32)
  np.testing.assert_array_equal(square_wave_embedding(u, periods), _paper_code(u, periods))
  np.testing.assert_array_equal(square_wave_embedding(u, periods, 0.0), _paper_code(u, periods))


@pytest.mark.parametrize("periods", [16, 6])
def test_a_third_offset_moves_every_edge_off_the_paper_conditioners(periods):
  """With o = 1/3, a c on the 2^−(P−1) grid is a third of a cell from any edge,
  and a multiple of 2^−k a third of a quarter-period from the edges of pairs
  j ≥ k. At δ = 2^−8 that leaves the pairs j ≤ 6 (quarters ≥ 2^−6 > 3δ) of the
  paper's c unchanged: none of the 14-d prefix of the code flips, and the 12-d
  code (third of a cell 1/96 > δ) flips nothing; the paper's code flips its
  pairs j ≥ k below every c."""
  third = 1 / 3
  for c in PAPER_C:
    assert flipped_bits(c, resolution(periods) / 4, periods, third) == (0, 0), c
    assert flipped_bits(c, 2.0 ** -8, min(periods, 7), third) == (0, 0), c
    assert flipped_bits(c, 2.0 ** -8, min(periods, 7))[0] == min(periods, 7) - PAPER_C[c], c
  # The shift is a shift: the code at u with o is the paper's code at u + o.
  u = np.random.default_rng(1).uniform(-1, 1.5, 1000)
  np.testing.assert_array_equal(square_wave_embedding(u, periods, third),
                                _paper_code(u + third, periods))


def test_the_offset_is_a_validated_setting_that_keeps_earlier_ids():
  from offline_scaling.train import pybullet_imitation, runs
  config = pybullet_imitation.default_config()
  config.agent.algo = "rci"
  base = runs.run_id(config)
  config.agent.return_code_offset = 0.0
  assert runs.run_id(config) == base
  config.agent.return_code_offset = 1 / 3
  assert runs.run_id(config) != base
  imitation.validate_config(config.agent)
  for bad in (1.0, -0.1, float("nan")):
    config.agent.return_code_offset = bad
    with pytest.raises(OfflineScalingError, match=f"return_code_offset={bad} must be in"):
      imitation.validate_config(config.agent)


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


@pytest.mark.parametrize("periods,offset", [(16, 0.0), (4, 0.0), (16, 1 / 3)])
def test_rci_conditioning_changes_the_policy(periods, offset):
  """Data where the action is 0 on low-return and 1 on high-return trajectories;
  the coarse code (4 periods, 8-d) and the shifted code resolve them as well
  as the default."""
  config = imitation.default_config()
  config.algo, config.param_count, config.learning_rate = "rci", 20_000, 1e-3
  config.return_code_periods, config.return_code_offset = periods, offset
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


class _SmallTorso(nn.Module):
  """A MinAtar-sized CNN torso: uint8 [B, 10, 10, 2] -> features [B, 32]."""

  @nn.compact
  def __call__(self, frames):
    x = nn.relu(nn.Conv(8, (3, 3))(frames.astype(jnp.float32)))
    return nn.relu(nn.Dense(32)(x.reshape(x.shape[0], -1)))


def _xor_batch(rng, n):
  """Frames whose channel 0 is all on (kind 1) or all off (kind 0); the expert's
  action is kind XOR (its return is high): no state-independent shift by the
  return can fit it."""
  kind = rng.integers(0, 2, n)
  g = rng.choice([0.0, 100.0], n).astype(np.float32)
  frames = np.zeros((n, 10, 10, 2), np.uint8)
  frames[kind == 1, :, :, 0] = 1
  frames[:, :, :, 1] = rng.integers(0, 2, (n, 10, 10))   # noise
  return dict(obs=frames, action=(kind ^ (g > 50)).astype(np.int32), episode_return=g)


@pytest.mark.parametrize("conditioning", ["input", "film"])
def test_rci_over_a_cnn_torso_lets_the_return_interact_with_the_state(conditioning):
  """Appended before a linear head ("input"), the return shifts every frame's
  logits by the same vector, so the XOR expert cannot be imitated; FiLM
  ("film", the Atari default) lets the shift depend on the frame and fits it."""
  config = imitation.default_config()
  config.algo, config.learning_rate, config.return_conditioning = "rci", 3e-3, conditioning
  agent = imitation.make_agent((10, 10, 2), 2, config, g_min=0.0, g_max=100.0,
                               torso=_SmallTorso(), obs_dtype=jnp.uint8)
  state = agent.init(jax.random.PRNGKey(0))
  update = jax.jit(agent.update)
  rng = np.random.default_rng(0)
  for _ in range(400):
    state, metrics = update(state, _xor_batch(rng, 128))
  frames = _xor_batch(rng, 2)["obs"]
  frames[0, :, :, 0], frames[1, :, :, 0] = 0, 1
  policy = imitation.policy_network((10, 10, 2), 2, config, _SmallTorso())
  net = lambda c: np.asarray(policy.apply(state.params, frames, jnp.full((2,), c)))
  shift = net(1.0) - net(0.0)     # what asking for the top return does, per frame
  if conditioning == "input":
    np.testing.assert_allclose(shift[0], shift[1], atol=1e-5)
    assert float(metrics["accuracy"]) < 0.8
  else:
    assert np.abs(shift[0] - shift[1]).max() > 1.0
    assert float(metrics["accuracy"]) > 0.95


def test_atari_rci_refuses_a_return_appended_before_a_linear_head():
  from offline_scaling.train import atari_run
  config = atari_run.default_config("rci")
  assert config.agent.return_conditioning == "film"
  config.agent.return_conditioning = "input"
  with pytest.raises(OfflineScalingError, match="return_conditioning='input'.*needs 'film'"):
    atari_run.validate(config)
