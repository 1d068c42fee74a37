"""One offline run, any domain: selection → stats → stream → Trainer → evaluation → result.

The domain (PyBullet imitation, Atari CQL/RCI) supplies the episode source,
the agent for the dataset's statistics, and how to play evaluation episodes;
everything else — run id, resume, selection, the selection summary, the
result record — is the same and lives here.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath

from offline_scaling.agents import cql, imitation
from offline_scaling.agents.base import Agent
from offline_scaling.data import pipeline
from offline_scaling.data.expertise import (POSITIONS, RULES, Selection, episode_ranges,
                                           equal_episode_ranges, select_policies)
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.data.sources import EpisodeSource
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.sizing import tree_param_count
from offline_scaling.train import checkpoints, distributed, evaluation, loop, runs

# (agent, params stacked over seeds, act kwargs, eval seed) -> {"returns": [num_seeds,
# episodes], and optionally "clipped_returns" alike} (`evaluation.evaluate_seeds`)
PlayFn = Callable[[Agent, object, dict, int], dict]
# Evaluations before the last (the training curves an update budget is chosen
# on) and replays asked for as tuning play episodes seeded eval_seed +
# TUNING_SEED_OFFSET + …, disjoint from the final, reported evaluation's
# eval_seed + [0, episodes × seeds) (`evaluation.evaluate_seeds`).
TUNING_SEED_OFFSET = 1_000_000


def eval_seed_for(eval_seed: int, tuning: bool) -> int:
  """The first env seed of a reported (`tuning=False`) or a tuning evaluation."""
  return eval_seed + TUNING_SEED_OFFSET if tuning else eval_seed


def base_config() -> ml_collections.ConfigDict:
  """The fields every domain's run config has."""
  c = ml_collections.ConfigDict()
  c.env = ""
  c.expertise = 1.0
  c.selection_rule = "value"
  c.num_policies = 100
  c.num_episodes = 0           # > 0: that many episodes split over the policies (Atari)
  c.episode_position = "middle"
  c.equal_episodes = False     # True: each policy's first k episodes, k for one pass (a study)
  c.train = loop.default_config()
  c.stream = pipeline.default_config()
  c.eval_episodes = 10
  c.eval_seed = 1_000
  c.conditioners = (1.0,)      # RCI only
  return c


def validate_base(c: ml_collections.ConfigDict, algo: str) -> None:
  """Checks the shared user-facing settings; one message naming the flag."""
  if not 0.0 < c.expertise <= 1.0:
    raise OfflineScalingError(f"--expertise={c.expertise} must lie in (0, 1]")
  if c.selection_rule not in RULES:
    raise OfflineScalingError(f"--selection_rule={c.selection_rule!r} must be one of {RULES}")
  if c.num_policies < 1:
    raise OfflineScalingError(f"--num_policies={c.num_policies} must be >= 1")
  if c.num_episodes < 0:
    raise OfflineScalingError(f"--num_episodes={c.num_episodes} must be >= 0")
  if c.equal_episodes and c.num_episodes:
    raise OfflineScalingError(
        f"--num_episodes={c.num_episodes} and equal_episodes=True both say how many episodes "
        "each policy gives: set one of them")
  if c.eval_episodes < 1:
    raise OfflineScalingError(f"--eval_episodes={c.eval_episodes} must be >= 1")
  if c.eval_seed < 0:
    raise OfflineScalingError(f"eval_seed={c.eval_seed} must be >= 0")
  if c.eval_episodes * c.train.num_seeds > TUNING_SEED_OFFSET:
    raise OfflineScalingError(
        f"--eval_episodes={c.eval_episodes} × {c.train.num_seeds} seeds exceeds "
        f"{TUNING_SEED_OFFSET:,}: the reported episodes would share env seeds with the tuning ones")
  if c.episode_position not in POSITIONS:
    raise OfflineScalingError(f"episode_position={c.episode_position!r} must be one of {POSITIONS}")
  if algo != "rci" and tuple(c.conditioners) != (1.0,):
    raise OfflineScalingError(
        f"--conditioners={list(c.conditioners)} only apply to RCI, not '{algo}'")
  check_conditioners(c.conditioners)
  loop.validate(c.train, jax.device_count())
  pipeline.validate(c.stream)


def check_conditioners(conditioners) -> None:
  """One message naming the flag unless `conditioners` is a non-empty list of finite numbers."""
  if not conditioners or any(not np.isfinite(x) for x in conditioners):
    raise OfflineScalingError(f"--conditioners={list(conditioners)} must be finite numbers")


def make_evaluate(agent: Agent, play: PlayFn, conditioners, deterministic: bool,
                  eval_seed: int, final_step: int | None = None):
  """evaluate(params, step) -> {returns, return_mean} (per conditioner for RCI),
  and {clipped_returns, clipped_return_mean} where `play` gives clipped returns.

  The evaluation at `final_step` (the reported one; None: every evaluation)
  plays the episodes of `eval_seed`; earlier ones play tuning episodes
  (`eval_seed_for`), so a budget chosen on the curve is not chosen on the
  reported episodes."""
  def evaluate(params, step):
    out = {}
    seed = eval_seed_for(eval_seed, tuning=final_step is not None and step < final_step)
    for c in conditioners:
      kwargs = dict(deterministic=deterministic)
      if c is not None:
        kwargs["conditioner"] = float(c)
      prefix = "" if c is None else f"c={c:g}/"
      for name, returns in play(agent, params, kwargs, seed).items():   # "[clipped_]returns"
        out[f"{prefix}{name}"] = returns.tolist()
        out[f"{prefix}{name[:-1]}_mean"] = float(returns.mean())
    if conditioners[0] is not None:  # RCI's headline: c = 1 if asked for, else the first
      c = 1.0 if 1.0 in conditioners else conditioners[0]
      for key in ("return_mean", "clipped_return_mean"):
        if f"c={c:g}/{key}" in out:
          out[key] = out[f"c={c:g}/{key}"]
    return out
  return evaluate


def cnn_agent_builder(algo: str, torso, obs_shape: tuple[int, ...], num_actions: int,
                      agent_config: ml_collections.ConfigDict
                      ) -> Callable[[pipeline.DatasetStats], Agent]:
  """`build_agent` of the frame domains (Atari, MinAtar): CQL on `torso` (C51,
  dueling), or BC / RCI with `torso` under the policy head (RCI's return
  modulating its features), on uint8 frames of `obs_shape`."""
  def build(stats):
    if algo == "cql":
      return cql.make_agent(torso, obs_shape, num_actions, agent_config)
    return imitation.make_agent(obs_shape, num_actions, agent_config, stats.g_min, stats.g_max,
                                torso=torso, obs_dtype=jnp.uint8)
  return build


def clipped_play(env: str, num_seeds: int, episodes: int, make_env: Callable) -> PlayFn:
  """`play` of the frame domains: `episodes` per seed of `make_env(env, seed=...)`,
  returning the game score and the clipped return of the same episodes."""
  def play(agent, params, act_kwargs, seed):
    return evaluation.evaluate_seeds(agent.act, params, env, num_seeds, episodes, seed=seed,
                                     clipped=True, make=make_env, **act_kwargs)
  return play


def select(policies: list[PolicyRecord],
           config: ml_collections.ConfigDict) -> tuple[list[PolicyRecord], Selection]:
  """The policies of `config.env` (of a source's `policies()`), and those a
  run of `config` trains on (`select_policies` at its level, P and rule).

  Raises:
    OfflineScalingError: there is no policy of the env.
  """
  table = [p for p in policies if p.env == config.env]
  if not table:
    raise OfflineScalingError(f"the data source has no policy for '{config.env}'")
  return table, select_policies(table, config.expertise, config.num_policies,
                                config.selection_rule)


def run(config: ml_collections.ConfigDict, workdir: str | epath.Path, *, domain: str,
        algo: str, source: EpisodeSource, build_agent: Callable[[pipeline.DatasetStats], Agent],
        play: PlayFn, deterministic_eval: bool = False, progress: bool = True,
        run_id: str | None = None, value_unit: str = "raw") -> dict:
  """Trains and evaluates one configuration; returns its result record.

  A run that already finished returns its stored result; a killed one resumes.
  `config` must already be validated; its stream fields (algo, batch size,
  seed) are filled in here from the agent and loop settings. In a multi-host
  run every process calls this: each streams its own share of the selected
  policies, and process 0 writes the result.

  Args:
    config: the run (`base_config()` plus the domain's fields).
    workdir: the run lives in `<workdir>/<run_id>/`.
    domain: recorded in the result (`pybullet`, `atari`).
    algo: the algorithm; also the stream layout (`data.pipeline.ALGOS`).
    source: where the episodes come from.
    build_agent: the agent for the selected dataset's statistics (G_min, G_max).
    play: `play(agent, params [S, ...], act_kwargs, eval_seed) -> returns [S, episodes]`;
      evaluations before the last play tuning episodes (`make_evaluate`).
    deterministic_eval: evaluate with the policy's mode instead of a sample.
    progress: show a progress bar.
    run_id: the run's directory name; default: the hash of the filled-in config
      (a sweep passes its point's id, which does not depend on where the data lie).
    value_unit: the unit of the source's returns and policy values: "raw" (the
      env's rewards summed) or "clipped" (each reward clipped to [−1, 1], as
      DQN Replay logged them; `play` must then give clipped returns too).

  Returns:
    The result record, as written to `result.json`: run id, config, selection,
    dataset statistics, parameter count, steps, samples seen (per seed),
    distinct transitions and passes (samples seen ÷ distinct transitions: ≤ 1
    is the paper's regime), `episodes_per_policy` (k under `equal_episodes`,
    else None), evaluation returns (per seed and conditioner), the
    best expert's value, `value_unit`, `eval_return` (the final evaluation's
    mean in that unit, the one to compare with the best expert's value) and
    `eval_raw_return` (the env's rewards summed: on Atari the game score).
  """
  config.stream.algo = algo
  config.stream.batch_size = loop.stream_batch_size(config.train)
  config.stream.seed = config.train.seed
  config.stream.num_seeds = config.train.num_seeds
  rid = run_id or runs.run_id(config)
  run_dir = epath.Path(workdir) / rid
  done = runs.read_result(run_dir)
  if done:
    return done

  table, selection = select(source.policies(), config)
  if len(selection.policy_ids) < jax.process_count():
    raise OfflineScalingError(
        f"{len(selection.policy_ids)} policies selected for {jax.process_count()} processes: "
        "each process streams its own policies, so raise --num_policies or use fewer processes")
  ranges, per_policy = None, None
  if config.num_episodes:
    ranges = episode_ranges(table, selection.policy_ids, config.num_episodes,
                            config.episode_position)
  elif config.equal_episodes:
    per_policy, ranges = equal_episode_ranges(
        table, selection.policy_ids, config.train.steps * config.train.batch_size)
  stats = pipeline.dataset_stats(source, selection.policy_ids, ranges,
                                 rfi_fraction=config.stream.rfi_fraction,
                                 skip_bad_episodes=config.stream.skip_bad_episodes)
  agent = build_agent(stats)
  conditioners = tuple(config.conditioners) if algo == "rci" else (None,)
  trainer = loop.Trainer(agent, config.train, run_dir,
                         evaluate=make_evaluate(agent, play, conditioners, deterministic_eval,
                                                config.eval_seed, config.train.steps))
  # The config (and so the run id) holds the global stream batch; each process
  # streams its part of it from its own policies.
  local_stream = config.stream.copy_and_resolve_references()
  local_stream.batch_size = loop.stream_batch_size(config.train, jax.process_count())
  stream = pipeline.make_stream(source, selection.policy_ids, local_stream,
                                episode_ranges=ranges, stats=stats, host=distributed.host())
  state, summary = trainer.train(stream, progress=progress)
  first_seed_params = jax.tree.map(lambda x: x[0], state.params)
  distinct = distinct_transitions(stats, algo)
  record = dict(run_id=rid, config=config.to_dict(), domain=domain, env=config.env, algo=algo,
                expertise=config.expertise, selection_rule=config.selection_rule,
                param_count=tree_param_count(first_seed_params),
                steps=summary["steps"], samples_seen=summary["samples_seen"],
                data_exhausted=summary["data_exhausted"], distinct_transitions=distinct,
                passes=summary["samples_seen"] / distinct, episodes_per_policy=per_policy,
                eval=summary["eval"],
                value_unit=value_unit,
                eval_return=summary["eval"].get("clipped_return_mean" if value_unit == "clipped"
                                                else "return_mean"),
                eval_raw_return=summary["eval"].get("return_mean"),
                selection=selection.to_dict(), dataset=stats.to_dict(),
                best_expert_value=selection.best_value)
  if distributed.is_primary():
    runs.write_result(run_dir, record)
  return record


def distinct_transitions(stats: pipeline.DatasetStats, algo: str) -> int:
  """The distinct transitions a run of `algo` can draw from its selection: RFI's
  top episodes' for RFI, all of them otherwise (`passes` = samples drawn per
  seed ÷ this)."""
  return stats.rfi_transitions if algo == "rfi" else stats.num_transitions


def reevaluate(run_dir: str | epath.Path, stats: pipeline.DatasetStats,
               train_config: ml_collections.ConfigDict,
               build_agent: Callable[[pipeline.DatasetStats], Agent], play: PlayFn,
               conditioners, eval_seed: int, deterministic_eval: bool = False) -> dict:
  """Plays a finished run's final parameters again, at other RCI conditioners.

  Nothing is trained: the agent is rebuilt for the run's recorded dataset
  statistics (so c keeps its meaning, u = c on [G_min, G_max]) and its last
  checkpoint is restored. With the run's own conditioners it reproduces the
  run's final evaluation.

  Args:
    run_dir: a finished run's directory (`checkpoints/`).
    stats: the dataset statistics its result recorded (`DatasetStats.from_record`).
    train_config: the run's loop settings (`config.train`; its seeds).
    build_agent: as for `run`, for the run's config.
    play: as for `run`, for the run's config.
    conditioners: the c values to play (RCI), or (None,) for any other agent.
    eval_seed: the first env seed (`eval_seed_for`: the run's reported
      episodes, or tuning ones to choose c on).
    deterministic_eval: as for `run`.

  Returns:
    {"step": the checkpoint's update, then `make_evaluate`'s record: per
    conditioner `c=<c>/returns` (seeds × episodes) and `c=<c>/return_mean`}.

  Raises:
    OfflineScalingError: when the run has no checkpoint.
  """
  run_dir = epath.Path(run_dir)
  agent = build_agent(stats)
  trainer = loop.Trainer(agent, train_config, run_dir)
  mgr = checkpoints.manager(run_dir / "checkpoints")
  latest = checkpoints.restore_latest(mgr, trainer.init_state())
  mgr.close()
  if latest is None:
    raise OfflineScalingError(f"{run_dir} has no checkpoint to re-evaluate")
  step, state, _ = latest
  evaluate = make_evaluate(agent, play, tuple(conditioners), deterministic_eval, eval_seed)
  return dict(step=step, **evaluate(jax.device_get(state.params), step))
