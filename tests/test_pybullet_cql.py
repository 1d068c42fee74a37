"""CQL on PyBullet: the MLP-torso agent, the value support for unclipped
rewards, the `cql` stream from PyBullet shards, and a run through the sweep."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rlax

from offline_scaling import OfflineScalingError
from offline_scaling.agents import cql, imitation
from offline_scaling.data import episodes as ep_lib
from offline_scaling.data import pipeline, policy_table
from offline_scaling.data.sources import PybulletSource
from offline_scaling.nets.sizing import mlp_param_count, tree_param_count
from offline_scaling.study import sweep
from offline_scaling.train import pybullet_cql
from synthetic import make_source

HOPPER_OBS, HOPPER_ACTIONS = 15, 8


def hopper_agent(reward_scale=0.01, **settings):
  config = cql.mlp_config()
  config.update(settings)
  torso = cql.mlp_torso(HOPPER_OBS, HOPPER_ACTIONS, config)
  return cql.make_agent(torso, (HOPPER_OBS,), HOPPER_ACTIONS, config, obs_dtype=jnp.float32,
                        reward_scale=reward_scale), config


def random_batch(size, seed=0):
  rng = np.random.default_rng(seed)
  return dict(obs=rng.normal(size=(size, HOPPER_OBS)).astype(np.float32),
              action=rng.integers(0, HOPPER_ACTIONS, size).astype(np.int32),
              reward=rng.normal(2.0, 1.0, size).astype(np.float32),
              discount=np.where(rng.random(size) < 0.1, 0.0, 0.99 ** 3).astype(np.float32),
              next_obs=rng.normal(size=(size, HOPPER_OBS)).astype(np.float32))


def test_torso_is_the_imitation_mlps_hidden_layers_under_a_c51_head():
  agent, config = hopper_agent(param_count=10_000)
  torso = cql.mlp_torso(HOPPER_OBS, HOPPER_ACTIONS, config)
  bc_config = imitation.default_config()
  bc_config.param_count = 10_000
  bc = imitation.make_head(HOPPER_OBS, HOPPER_ACTIONS, bc_config)
  assert torso.features == bc.features[:-1] == (416,) and torso.activate_output
  params = jax.eval_shape(agent.init, jax.random.PRNGKey(0)).params
  # Torso layers, then the dueling streams: (w + 1)·atoms + (w + 1)·A·atoms.
  assert tree_param_count(params) == mlp_param_count(1, 416, HOPPER_OBS,
                                                     (HOPPER_ACTIONS + 1) * 51)


def test_init_update_act_shapes():
  agent, _ = hopper_agent(param_count=2_000)
  state = agent.init(jax.random.PRNGKey(0))
  state, metrics = jax.jit(agent.update)(state, random_batch(16))
  assert int(state.step) == 1
  assert set(metrics) >= {"loss", "td_loss", "cql_penalty", "q_data", "grad_norm"}
  assert all(np.shape(v) == () and np.isfinite(v) for v in metrics.values())
  obs = random_batch(5)["obs"]
  greedy = agent.act(state.params, obs, jax.random.PRNGKey(1), deterministic=True)
  assert greedy.shape == (5,) and greedy.dtype == jnp.int32
  assert ((0 <= greedy) & (greedy < HOPPER_ACTIONS)).all()
  explored = agent.act(state.params, obs, jax.random.PRNGKey(1), epsilon=1.0)
  assert explored.shape == (5,) and ((0 <= explored) & (explored < HOPPER_ACTIONS)).all()


def test_loss_decreases_on_a_fixed_batch():
  # Terminal transitions: each target is one reward, on two atoms, so the
  # cross-entropy can fall from ~log(51) towards log(2) (plus α·penalty).
  agent, _ = hopper_agent(hidden=(64, 64), reward_scale=1.0)
  state = agent.init(jax.random.PRNGKey(0))
  batch = dict(random_batch(64), discount=np.zeros(64, np.float32))
  first, _ = agent.loss(state.params, batch, None, state.target_params)
  state, metrics = jax.jit(lambda s: jax.lax.scan(lambda s, _: agent.update(s, batch), s,
                                                  None, length=200))(state)
  assert metrics["loss"][-1] < 0.5 * float(first), (float(first), metrics["loss"][-1])


# Per-step reward ranges and episode shapes at the envs' scales: HalfCheetah
# runs forwards (returns ~ +2,500) or backwards (~ −1,000) for 1,000 steps; Ant
# walks (~ +2,500) or falls early with a negative step.
SCALES = {
    "halfcheetah": [(1000, 2.5, 1.0, -3.0, 4.5, False), (1000, -1.0, 0.8, -3.0, 4.5, False)],
    "ant": [(1000, 2.5, 0.6, -1.0, 3.5, False), (120, 0.5, 0.8, -1.0, 3.5, True)],
}


def synthetic_rewards(env, seed=0):
  """[(rewards [L] float32, terminated)] at `env`'s scale (see SCALES)."""
  rng = np.random.default_rng(seed)
  out = []
  for length, mean, std, low, high, terminated in SCALES[env]:
    r = np.clip(rng.normal(mean, std, length), low, high).astype(np.float32)
    r[rng.integers(length)] = low     # the range's edges are in the data
    r[rng.integers(length)] = high
    out.append((r, terminated))
  return out


def edges_kept(episodes, c, gamma=0.99, n=3) -> bool:
  """Whether, with rewards scaled by c, every discounted return-to-go lies in
  the default support and the C51 projection keeps every n-step target's mean
  (no mass clipped at the edges), checked on the transitions with the largest
  and smallest n-step rewards and next-state distributions piled on either edge."""
  atoms = np.asarray(cql.support(cql.mlp_config()))
  for rewards, terminated in episodes:
    to_go, g = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards) - 1, -1, -1):
      g = c * float(rewards[t]) + gamma * g
      to_go[t] = g
    if to_go.min() < atoms[0] or to_go.max() > atoms[-1]:
      return False
    discounts = np.ones_like(rewards)
    discounts[-1] = 0.0 if terminated else 1.0
    reward, discount, _ = (x.numpy() for x in pipeline.n_step_targets(rewards, discounts, n,
                                                                     gamma))
    for i in (int(reward.argmax()), int(reward.argmin())):
      target = c * reward[i] + discount[i] * atoms        # where each atom's mass moves
      for edge in (0, -1):
        probs = np.zeros_like(atoms)
        probs[edge] = 1.0
        projected = np.asarray(rlax.categorical_l2_project(
            jnp.asarray(target), jnp.asarray(probs), jnp.asarray(atoms)))
        assert projected.sum() == pytest.approx(1.0, abs=1e-5)
        if abs(projected @ atoms - target[edge]) > 1e-3:
          return False
  return True


@pytest.mark.parametrize("env", sorted(SCALES))
def test_scaled_rewards_keep_every_value_and_target_inside_the_support(env):
  episodes = synthetic_rewards(env)
  returns = [float(r.sum()) for r, _ in episodes]
  assert max(returns) > 2_000 and (env != "halfcheetah" or min(returns) < -500)
  r_min = min(float(r.min()) for r, _ in episodes)
  r_max = max(float(r.max()) for r, _ in episodes)
  c = cql.reward_scale_for(r_min, r_max, 0.99, cql.mlp_config())
  assert c == pytest.approx(10 * 0.01 / max(-r_min, r_max))
  assert edges_kept(episodes, c)
  assert not edges_kept(episodes, 1.0)          # unscaled, the values fall off the support


def test_reward_scale_refuses_what_it_cannot_bound():
  config = cql.mlp_config()
  with pytest.raises(OfflineScalingError, match="gamma=1.0 must be < 1"):
    cql.reward_scale_for(-1.0, 1.0, 1.0, config)
  with pytest.raises(OfflineScalingError, match="every reward of the selected episodes is 0"):
    cql.reward_scale_for(0.0, 0.0, 0.99, config)
  config.v_min = 0.0
  with pytest.raises(OfflineScalingError, match="must straddle 0"):
    cql.reward_scale_for(-1.0, 1.0, 0.99, config)


def test_pybullet_cql_stream_matches_a_hand_computation(tmp_path):
  """Two episodes of 4-d float observations: one terminated (rewards 1, 2, 3, 4),
  one cut by a time limit (0.5, −1, 2); n = 3, γ = 0.5."""
  obs = lambda L, e: np.stack([np.full(4, 10 * e + t, np.float32) for t in range(L + 1)])
  eps = [ep_lib.Episode(obs(4, 0), np.array([3, 1, 4, 1]), np.array([1, 2, 3, 4], np.float32),
                        terminated=True, policy_id="p", env="hopper", index=0),
         ep_lib.Episode(obs(3, 1), np.array([5, 0, 2]), np.array([0.5, -1, 2], np.float32),
                        terminated=False, policy_id="p", env="hopper", index=1)]
  path = ep_lib.write_shard(tmp_path / "p.tfrecord", eps)
  policy_table.write_policy_table(tmp_path / "policy_table.json",
                                  [policy_table.summarize(eps, path.name)])
  config = pipeline.default_config()
  config.update(algo="cql", n_step=3, gamma=0.5, batch_size=64)
  source = PybulletSource(tmp_path)
  (batch,) = [{k: v[0] for k, v in b.items()}   # the one seed's
              for b in pipeline.make_stream(source, ["p"], config)]
  assert set(batch) == {"obs", "action", "reward", "discount", "next_obs"}
  assert batch["obs"].shape == batch["next_obs"].shape == (7, 4)
  assert batch["obs"].dtype == batch["next_obs"].dtype == np.float32
  assert batch["reward"].dtype == batch["discount"].dtype == np.float32
  # (episode, t) -> (action, n-step reward, discount, t of next_obs)
  want = {(0, 0): (3, 1 + 0.5 * 2 + 0.25 * 3, 0.125, 3), (0, 1): (1, 2 + 0.5 * 3 + 0.25 * 4, 0, 4),
          (0, 2): (4, 3 + 0.5 * 4, 0, 4), (0, 3): (1, 4, 0, 4),
          (1, 0): (5, 0.5 - 0.5 + 0.25 * 2, 0.125, 3), (1, 1): (0, -1 + 0.5 * 2, 0.25, 3),
          (1, 2): (2, 2, 0.5, 3)}
  got = {}
  for i in range(7):
    e, t = divmod(int(batch["obs"][i, 0]), 10)
    got[(e, t)] = (int(batch["action"][i]), float(batch["reward"][i]),
                   float(batch["discount"][i]), batch["next_obs"][i])
  assert set(got) == set(want)
  for key, (action, reward, discount, t_next) in want.items():
    assert got[key][0] == action
    assert got[key][1] == pytest.approx(reward) and got[key][2] == pytest.approx(discount)
    np.testing.assert_array_equal(got[key][3], np.full(4, 10 * key[0] + t_next))


def test_a_sweep_point_runs_cql_on_real_shards(tmp_path):
  make_source(tmp_path / "data", num_policies=2, episodes_per_policy=2, obs_dim=HOPPER_OBS,
              num_actions=HOPPER_ACTIONS)
  config = pybullet_cql.default_config()
  config.update(data=str(tmp_path / "data"), num_policies=2, eval_episodes=1)
  config.agent.param_count = 2_000
  config.train.update(steps=20, batch_size=8, updates_per_call=10, log_every=10,
                      checkpoint_every=20)
  result = sweep.run_point("pybullet", config.to_dict(), str(tmp_path / "sweep"), "cql_point")
  stored = json.loads((sweep.runs_dir(tmp_path / "sweep") / "cql_point" / "result.json")
                      .read_text())
  assert result["algo"] == stored["algo"] == "cql" and result["steps"] == 20
  assert result["domain"] == "pybullet" and np.isfinite(result["eval_return"])
  assert result["dataset"]["r_min"] < result["dataset"]["r_max"]
