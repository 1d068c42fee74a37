import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import rlax

from offline_scaling.agents import cql, imitation
from offline_scaling.nets import MLP
from offline_scaling.nets.cnn import ImpalaCNN, NatureCNN
from offline_scaling.nets.sizing import count_params

ATOMS = jnp.array([-2.0, -1.0, 0.0, 1.0, 2.0])
BIG = 50.0  # logit gap that puts (numerically) all mass on one atom


def one_hot_logits(index):
  return jnp.where(jnp.arange(5) == index, BIG, 0.0)


def test_projection_hand_computed_against_rlax():
  # All next-state mass at z = 0; r = 0.5, discount 0.5 → target atom 0.5, split
  # evenly between the support's 0 and 1.
  got = rlax.categorical_l2_project(0.5 + 0.5 * ATOMS, jax.nn.softmax(one_hot_logits(2)), ATOMS)
  np.testing.assert_allclose(got, [0, 0, 0.5, 0.5, 0], atol=1e-6)
  # Mass at z = 2 with r = 1, discount 0.5 → 2: stays on the top atom; clipping beyond v_max.
  got = rlax.categorical_l2_project(1.0 + 1.0 * ATOMS, jax.nn.softmax(one_hot_logits(4)), ATOMS)
  np.testing.assert_allclose(got, [0, 0, 0, 0, 1], atol=1e-6)


def test_c51_target_uses_online_selection_and_target_distribution():
  # Two actions. Target net at s': action 0 → all mass at +2, action 1 → all at 0.
  next_target = jnp.stack([one_hot_logits(4), one_hot_logits(2)])[None]
  # Online distribution of (s, a_data = 0): p ∝ exp([0, 1, 2, 3, 4]).
  logits = jnp.stack([jnp.arange(5.0), jnp.zeros(5)])[None]
  p = np.asarray(jax.nn.softmax(jnp.arange(5.0)))
  r, discount = jnp.array([0.5]), jnp.array([0.5])
  # The online net prefers action 1 at s': target = action 1's distribution (mass
  # at 0) → atom 0.5 → [0, 0, .5, .5, 0]; loss = −(½ ln p_2 + ½ ln p_3).
  loss = cql.c51_td_loss(ATOMS, logits, jnp.array([0]), r, discount, next_target,
                         jnp.array([[0.0, 1.0]]))
  np.testing.assert_allclose(loss, [-(0.5 * np.log(p[2]) + 0.5 * np.log(p[3]))], rtol=1e-5)
  # Had it preferred action 0 (mass at 2 → atom 1.5 → [0, 0, 0, .5, .5]):
  loss = cql.c51_td_loss(ATOMS, logits, jnp.array([0]), r, discount, next_target,
                         jnp.array([[1.0, 0.0]]))
  np.testing.assert_allclose(loss, [-(0.5 * np.log(p[3]) + 0.5 * np.log(p[4]))], rtol=1e-5)
  # A terminal transition (discount 0) targets the reward alone: atom 0.5 again.
  loss = cql.c51_td_loss(ATOMS, logits, jnp.array([0]), r, jnp.array([0.0]), next_target,
                         jnp.array([[1.0, 0.0]]))
  np.testing.assert_allclose(loss, [-(0.5 * np.log(p[2]) + 0.5 * np.log(p[3]))], rtol=1e-5)


def test_conservative_penalty_hand_computed():
  q = jnp.array([[1.0, 2.0], [0.0, 0.0]])
  got = cql.conservative_penalty(q, jnp.array([0, 1]))
  np.testing.assert_allclose(got, [np.log(np.e + np.e ** 2) - 1.0, np.log(2.0)], rtol=1e-6)


def test_q_values_are_distribution_means():
  logits = jnp.stack([one_hot_logits(0), jnp.zeros(5)])[None]
  np.testing.assert_allclose(cql.q_values(logits, ATOMS), [[-2.0, 0.0]], atol=1e-5)


IMPALA_PARAMS = {0.5: 769_585, 1: 2_577_817, 2: 9_313_129, 3: 20_206_905, 4: 35_259_145,
                 6: 77_839_017}


def test_impala_param_counts_pinned():
  frames = jax.ShapeDtypeStruct((1, 84, 84, 4), jnp.uint8)
  for mult, expected in IMPALA_PARAMS.items():
    net = cql.C51Network(ImpalaCNN(mult), num_actions=18, num_atoms=51)
    assert count_params(net, frames) == expected, mult
  assert 1.6e6 < count_params(NatureCNN(), frames) < 1.7e6


def cartpole_data(episodes=400, p_good=0.4, seed=0):
  """Mixed-quality CartPole data: each step the expert's action with prob p_good,
  else the opposite, so the most frequent action in a state is the bad one."""
  env = gym.make("CartPole-v1")
  rng = np.random.default_rng(seed)
  data = {k: [] for k in ("obs", "action", "reward", "discount", "next_obs")}
  for e in range(episodes):
    obs, _ = env.reset(seed=seed + e)
    done = False
    while not done:
      good = int(obs[2] + 0.5 * obs[3] > 0)
      action = good if rng.random() < p_good else 1 - good
      next_obs, reward, term, trunc, _ = env.step(action)
      for k, v in zip(data, (obs, action, reward, 0.0 if term else 1.0, next_obs)):
        data[k].append(v)
      obs, done = next_obs, term or trunc
  return {k: np.asarray(v, np.int32 if k == "action" else np.float32) for k, v in data.items()}


def greedy_return(act, params, episodes=5):
  env = gym.make("CartPole-v1")
  total = 0.0
  for e in range(episodes):
    obs, _ = env.reset(seed=1000 + e)
    done = False
    while not done:
      a = int(act(params, obs[None].astype(np.float32), jax.random.PRNGKey(0),
                  deterministic=True)[0])
      obs, r, term, trunc, _ = env.step(a)
      total += r
      done = term or trunc
  return total / episodes


def train(agent, data, steps, batch=128, seed=0):
  state = agent.init(jax.random.PRNGKey(seed))
  n = len(data["action"])
  idx = np.random.default_rng(seed).integers(0, n, (steps, batch))
  batches = jax.tree.map(lambda x: jnp.asarray(x[idx]), data)
  state, _ = jax.jit(lambda s, b: jax.lax.scan(agent.update, s, b))(state, batches)
  return state


def test_cql_beats_bc_on_mixed_quality_data():
  data = cartpole_data()
  data["discount"] = data["discount"] * 0.9     # γ = 0.9 keeps returns inside [−10, 10]
  config = cql.default_config()
  config.update(learning_rate=1e-3, adam_eps=1e-8, target_update_period=200)
  torso = MLP((64, 64), activation=jax.nn.relu)
  agent = cql.make_agent(torso, (4,), 2, config, obs_dtype=jnp.float32)
  cql_return = greedy_return(agent.act, train(agent, data, 4000).params)

  bc_config = imitation.default_config()
  bc_config.hidden, bc_config.learning_rate = (64, 64), 1e-3
  bc = imitation.make_agent(4, 2, bc_config)
  bc_return = greedy_return(bc.act, train(bc, data, 4000).params)
  print(f"CartPole, mixed data: CQL {cql_return:.1f}, BC {bc_return:.1f}")
  assert cql_return > 100 and cql_return > 3 * bc_return, (cql_return, bc_return)
