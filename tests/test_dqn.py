import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from offline_scaling.agents import dqn
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.minatar import MinAtarCNN

GAMMA = 0.99


class Identity(nn.Module):
  """One-hot states as features: under DQN's linear head, Q is a table (+ a bias per action)."""

  @nn.compact
  def __call__(self, obs):
    return obs.astype(jnp.float32)


def tabular_agent(num_states=2, num_actions=2, **settings):
  config = dqn.default_config()
  config.update(settings)
  return dqn.make_agent(Identity(), (num_states,), num_actions, config, obs_dtype=jnp.float32)


def table(q):
  """Params whose Q(s, a) = q[s, a] (one-hot states, zero bias)."""
  q = jnp.asarray(q, jnp.float32)
  return {"params": {"Dense_0": {"kernel": q, "bias": jnp.zeros(q.shape[1])}}}


def one_hot(states, n=2):
  return jax.nn.one_hot(jnp.asarray(states), n)


def batch_of(s, a, r, d, s_next):
  return dict(obs=one_hot(s), action=jnp.asarray(a, jnp.int32),
              reward=jnp.asarray(r, jnp.float32), discount=jnp.asarray(d, jnp.float32),
              next_obs=one_hot(s_next))


def test_loss_against_hand_computed_td_errors():
  online, target = table([[1.0, 2.0], [3.0, 4.0]]), table([[0.0, 5.0], [6.0, 7.0]])
  batch = batch_of(s=[0, 1, 1], a=[1, 0, 1], r=[0.5, 1.0, -0.45], d=[1, 0, 1], s_next=[1, 0, 0])
  # Targets r + γ·d·max_a' Q_target(s', a'):
  # 0.5 + .99·7 = 7.43; 1 (terminal); −.45 + .99·5 = 4.5.
  td = np.array([7.43 - 2.0, 1.0 - 3.0, 4.5 - 4.0])                     # [5.43, −2, 0.5]
  huber = np.array([5.43 - 0.5, 2.0 - 0.5, 0.5 * 0.5 ** 2])   # |δ| − ½ beyond 1, δ²/2 within
  value, metrics = tabular_agent().loss(online, batch, None, target)
  np.testing.assert_allclose(value, huber.mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["td_abs"], np.abs(td).mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["q_data"], (2.0 + 3.0 + 4.0) / 3, rtol=1e-6)
  value, _ = tabular_agent(loss="mse").loss(online, batch, None, target)
  np.testing.assert_allclose(value, (td ** 2).mean(), rtol=1e-5)        # Dopamine's δ², no ½
  # Without target params the online net is the target (max Q(s1) = 4, Q(s0) = 2).
  value, _ = tabular_agent(loss="mse").loss(online, batch, None)
  td = np.array([0.5 + GAMMA * 4 - 2.0, 1.0 - 3.0, -0.45 + GAMMA * 2 - 4.0])
  np.testing.assert_allclose(value, (td ** 2).mean(), rtol=1e-5)


def test_no_gradient_flows_through_the_target():
  agent = tabular_agent()
  online = table([[1.0, 2.0], [3.0, 4.0]])
  batch = batch_of(s=[0, 1], a=[1, 0], r=[0.5, 1.0], d=[1, 1], s_next=[1, 0])
  grad_self = jax.grad(lambda p: agent.loss(p, batch, None)[0])(online)
  grad_fixed = jax.grad(lambda p: agent.loss(p, batch, None, online)[0])(online)
  jax.tree.map(np.testing.assert_allclose, grad_self, grad_fixed)


def test_target_is_copied_exactly_every_period_and_not_between():
  period = 3
  agent = tabular_agent(target_update_period=period, learning_rate=0.1)
  batch = batch_of(s=[0, 1], a=[1, 0], r=[1.0, -1.0], d=[1, 0], s_next=[1, 0])
  state = agent.init(jax.random.PRNGKey(0))
  jax.tree.map(np.testing.assert_array_equal, state.target_params, state.params)
  update = jax.jit(agent.update)
  copied = state.params
  for step in range(1, 3 * period + 2):
    state, _ = update(state, batch)
    assert int(state.step) == step
    if step % period == 0:
      copied = state.params
      jax.tree.map(np.testing.assert_array_equal, state.target_params, state.params)
    else:
      jax.tree.map(np.testing.assert_array_equal, state.target_params, copied)
      assert not np.array_equal(state.params["params"]["Dense_0"]["kernel"],
                                state.target_params["params"]["Dense_0"]["kernel"])


def test_epsilon_schedule():
  c = dqn.default_config()
  steps = np.array([0, 999, 1_000, 1_000 + 125_000, 1_000 + 250_000, 5_000_000])
  expected = [1.0, 1.0, 1.0, 1.0 - 0.99 / 2, 0.01, 0.01]
  np.testing.assert_allclose([float(dqn.epsilon(int(s), c)) for s in steps], expected, rtol=1e-6)
  np.testing.assert_allclose(jax.jit(lambda s: dqn.epsilon(s, c))(jnp.asarray(steps)), expected,
                             rtol=1e-6)
  c.epsilon_warmup_steps, c.epsilon_decay_steps, c.epsilon_train = 0, 10, 0.1
  np.testing.assert_allclose([float(dqn.epsilon(s, c)) for s in (0, 5, 10, 11)],
                             [1.0, 0.55, 0.1, 0.1], rtol=1e-6)


def test_act_greedy_at_zero_and_uniform_at_one():
  actions = 6
  q = np.arange(2 * actions, dtype=np.float32).reshape(2, actions)
  q[1] = q[1][::-1]                                                     # s0 -> action 5, s1 -> 0
  agent, params = tabular_agent(num_actions=actions), table(q)
  obs = one_hot(np.arange(6000) % 2)
  greedy = np.where(np.arange(6000) % 2 == 0, 5, 0)
  act = jax.jit(agent.act)                                              # ε traced: one compile
  got = act(params, obs, jax.random.PRNGKey(0), 0.0)
  assert got.dtype == jnp.int32 and got.shape == (6000,)
  np.testing.assert_array_equal(got, greedy)
  np.testing.assert_array_equal(agent.act(params, obs, None, deterministic=True), greedy)
  counts = np.bincount(act(params, obs, jax.random.PRNGKey(1), 1.0), minlength=actions)
  assert np.all(np.abs(counts - 1000) < 150), counts                    # 1000 ± ~4.5 sd
  # Evaluation's ε = 0.001: almost always greedy.
  assert np.mean(np.asarray(act(params, obs, jax.random.PRNGKey(2), 0.001)) == greedy) > 0.99


def test_learns_q_star_on_a_two_state_chain():
  # s0: a0 stays (r 0), a1 -> s1 (r 0). s1: a0 stays (r 1), a1 ends the episode (r −1).
  # γ = 0.9: V*(s1) = 1/(1 − γ) = 10, V*(s0) = γ·10 = 9, so
  # Q* = [[γ·9, 9], [10, −1]] = [[8.1, 9], [10, −1]].
  gamma = 0.9
  q_star = np.array([[8.1, 9.0], [10.0, -1.0]])
  batch = batch_of(s=[0, 0, 1, 1], a=[0, 1, 0, 1], r=[0.0, 0.0, 1.0, -1.0], d=[1, 1, 1, 0],
                   s_next=[0, 1, 1, 1])
  agent = tabular_agent(gamma=gamma, learning_rate=0.05, target_update_period=20)

  @jax.jit
  def train(state):
    return jax.lax.scan(lambda s, _: (agent.update(s, batch)[0], None), state, None,
                        length=2_000)[0]

  state = train(agent.init(jax.random.PRNGKey(0)))
  q = dqn.QNetwork(Identity(), 2).apply(state.params, one_hot([0, 1]))
  np.testing.assert_allclose(q, q_star, atol=0.01)


@pytest.mark.slow  # ~10 s of XLA:CPU compile, mostly the 4-D conv kernel's random init
def test_minatar_cnn_agent_runs_a_jitted_update():
  agent = dqn.make_agent(MinAtarCNN(0.5), (10, 10, 4), 6, dqn.default_config())
  rng = np.random.default_rng(0)
  frames = lambda: jnp.asarray(rng.integers(0, 2, (8, 10, 10, 4)), jnp.uint8)
  batch = dict(obs=frames(), action=jnp.asarray(rng.integers(0, 6, 8), jnp.int32),
               reward=jnp.ones(8, jnp.float32), discount=jnp.ones(8, jnp.float32),
               next_obs=frames())
  state = agent.init(jax.random.PRNGKey(0))
  state, metrics = jax.jit(agent.update, donate_argnums=0)(state, batch)
  assert int(state.step) == 1 and np.isfinite(float(metrics["loss"]))
  assert agent.act(state.params, batch["obs"], jax.random.PRNGKey(0), 0.5).shape == (8,)


@pytest.mark.parametrize("field,bad", [
    ("learning_rate", 0.0), ("adam_eps", -1.0), ("gamma", 1.5), ("gamma", float("nan")),
    ("epsilon_train", 1.2), ("epsilon_eval", -0.1), ("target_update_period", 0),
    ("epsilon_decay_steps", 0), ("epsilon_warmup_steps", -1), ("loss", "l1")])
def test_bad_settings_name_the_field(field, bad):
  config = dqn.default_config()
  config[field] = bad
  with pytest.raises(OfflineScalingError, match=field):
    dqn.validate_config(config)
  with pytest.raises(OfflineScalingError, match=field):
    dqn.make_agent(Identity(), (2,), 2, config)
