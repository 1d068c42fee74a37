import jax
import jax.numpy as jnp
import numpy as np

from offline_scaling.agents import ppo
from offline_scaling.agents.running_stats import RunningStats
from offline_scaling.envs import make_env
from offline_scaling.train import experts, rollout


def test_gae_hand_computed():
  # γ = 0.9, λ = 0.8; the episode ends after step 1.
  rewards = jnp.array([[1.0], [1.0], [1.0]])
  values = jnp.array([[0.5], [0.5], [0.5]])
  dones = jnp.array([[0.0], [1.0], [0.0]])
  adv, ret = ppo.gae(rewards, values, dones, jnp.array([2.0]), 0.9, 0.8)
  # t=2: δ = 1 + 0.9·2 − 0.5 = 2.3;  t=1: δ = 1 − 0.5 = 0.5 (episode end);
  # t=0: δ = 1 + 0.9·0.5 − 0.5 = 0.95, A = 0.95 + 0.9·0.8·0.5 = 1.31.
  np.testing.assert_allclose(adv[:, 0], [1.31, 0.5, 2.3], rtol=1e-6)
  np.testing.assert_allclose(ret[:, 0], [1.81, 1.0, 2.8], rtol=1e-6)


def test_clipped_surrogate_hand_computed():
  ratio = jnp.array([1.5, 1.5, 0.5, 0.5, 1.1])
  adv = jnp.array([1.0, -1.0, 1.0, -1.0, 2.0])
  # min(ρA, clip(ρ, .8, 1.2)A): 1.2, −1.5, 0.5, −0.8, 2.2
  got = ppo.clipped_surrogate_loss(jnp.log(ratio), jnp.zeros(5), adv, 0.2)
  np.testing.assert_allclose(got, -np.mean([1.2, -1.5, 0.5, -0.8, 2.2]), rtol=1e-6)


def test_loss_value_and_entropy_terms():
  config = ppo.default_config()
  config.vf_coef, config.ent_coef = 0.5, 0.01
  state = ppo.init(jax.random.PRNGKey(0), obs_dim=4, num_actions=8, config=config)
  policy = state.policy
  obs = jax.random.normal(jax.random.PRNGKey(1), (6, 4))
  logits, value = policy.apply(obs)
  actions = jnp.arange(6)
  log_prob = jax.nn.log_softmax(logits)[jnp.arange(6), actions]
  batch = dict(obs=obs, actions=actions, log_probs=log_prob,
               advantages=jnp.arange(6.0), returns=jnp.ones(6))
  total, m = ppo.loss(policy.params, policy, batch, config)
  probs = jax.nn.softmax(logits)
  entropy = -(probs * jnp.log(probs)).sum(-1).mean()
  value_loss = ((value - 1.0) ** 2).mean()
  # At ρ = 1 the surrogate is −mean(normalised A) = 0.
  np.testing.assert_allclose(m["policy_loss"], 0.0, atol=1e-6)
  np.testing.assert_allclose(m["entropy"], entropy, rtol=1e-5)
  np.testing.assert_allclose(m["value_loss"], value_loss, rtol=1e-5)
  np.testing.assert_allclose(total, 0.5 * value_loss - 0.01 * entropy, rtol=1e-5, atol=1e-6)
  # A fresh policy is near-uniform over the 8 bang-bang actions (small output init).
  np.testing.assert_allclose(entropy, np.log(8), rtol=1e-2)


def test_running_stats_match_numpy():
  x = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 3)).astype(np.float32)
  stats = RunningStats.create(3)
  for chunk in np.split(x, 5):
    stats = stats.update(jnp.asarray(chunk))
  np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-4)
  np.testing.assert_allclose(stats.var, x.var(0), rtol=1e-3)


def test_update_changes_params_and_counts_steps():
  config = ppo.default_config()
  config.num_envs, config.rollout_len, config.num_minibatches, config.epochs = 2, 8, 2, 2
  state = ppo.init(jax.random.PRNGKey(0), obs_dim=3, num_actions=4, config=config)
  rng = np.random.default_rng(0)
  rollout_ = dict(obs=rng.normal(size=(8, 2, 3)).astype(np.float32),
                  actions=rng.integers(0, 4, (8, 2)).astype(np.int32),
                  log_probs=np.full((8, 2), np.log(0.25), np.float32),
                  values=np.zeros((8, 2), np.float32),
                  rewards=rng.normal(size=(8, 2)).astype(np.float32),
                  dones=np.zeros((8, 2), np.float32),
                  last_obs=rng.normal(size=(2, 3)).astype(np.float32))
  before = jax.tree.map(np.asarray, state.policy.params)
  new, metrics = ppo.make_update(config)(state, rollout_)
  assert int(new.env_steps) == 16
  assert all(np.isfinite(float(v)) for v in metrics.values())
  changed = jax.tree.map(lambda a, b: not np.allclose(a, b), before, new.policy.params)
  assert any(jax.tree.leaves(changed))
  np.testing.assert_allclose(new.policy.obs_stats.mean, rollout_["obs"].reshape(-1, 3).mean(0),
                             rtol=1e-3, atol=1e-3)


def test_short_ppo_run_beats_random_policy(tmp_path):
  """30k env steps of PPO on real HopperBullet already beat uniform random actions."""
  config = ppo.default_config()
  experts.train_expert("hopper", 0, tmp_path, config, total_steps=30_000,
                       checkpoint_every=30_000)
  policy, meta = experts.list_zoo(tmp_path)[-1].load()
  assert meta["env_steps"] == 30_000
  env = make_env("hopper", seed=123)
  trained = rollout.evaluate(env, rollout.ppo_act_fn(policy), 10, seed=123)["mean"]
  rng = np.random.default_rng(0)
  random = rollout.evaluate(env, lambda obs, key: int(rng.integers(8)), 10, seed=123)["mean"]
  assert trained > random + 10, (trained, random)
