"""Online DQN on MinAtar, its whole replay logged checkpoint by checkpoint as DQN Replay is.

One run plays `frames` agent steps (one MinAtar frame each) of one game with
`agents.dqn`, set up as Dopamine's MinAtar DQN (`default_config`; every value
and its source in `agents/dqn.py` and `shared/notes/minatar_dqn.md`):

* ε-greedy acting on the online network, ε from `dqn.epsilon(agent steps)`;
* a replay memory of the last 100,000 transitions (`ReplayBuffer`), rewards
  clipped to [−1, 1] before they are stored (Dopamine's runner);
* one update on a uniform batch of 32 after every 4th agent step, once more
  than 1,000 transitions are stored; the target network copied every 250
  updates (1,000 agent steps).

The network is `nets.minatar.MinAtarCNN(width_mult=1, hidden=128)`: conv 16
3×3 (SAME) → ReLU → FC 128 → ReLU → Q head, the MinAtar reference DQN's
shape (Young & Tian, 2019; its curves are the learning check), with
Dopamine's padding and initialisers.

**The log.** The run is cut into `checkpoints` equal spans of agent steps.
Checkpoint i (0-based) holds the episodes that *ended* during span i, in the
order they ended, with their raw rewards; its "policy" is the DQN of that
span, as a DQN Replay checkpoint's is, and its value the mean clipped return
of those episodes. Under `<workdir>/<game>/`:

    run_<r>/episodes/<i:03d>.tfrecord    episode shards (uint8 frames, `data.episodes`)
    run_<r>/snapshots/<frames>/          orbax: the online parameters at the end of span i
    run_<r>/progress.jsonl               per checkpoint: its policy-table row, mean raw and
                                         clipped training return, ε, updates, loss, steps/s
    run_<r>/config.json                  the run's settings (a resume must match them)
    run_<r>/resume/                      the latest span end: agent state (orbax) and
                                         host state (replay, env, RNG, unfinished episode)
    policy_table.json                    every run's checkpoints (`data.policy_table`)

`data.minatar_replay.MinatarReplaySource` reads it as a study's source.

**Resume.** Everything the run depends on is saved at every span end, so a
killed run restarted with the same call replays the unfinished span exactly
and ends as an uninterrupted one would (same shards, same parameters).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import time
from typing import Callable

import jax
import ml_collections
import numpy as np
from etils import epath

from offline_scaling.agents import dqn
from offline_scaling.data import episodes as episodes_lib
from offline_scaling.data import policy_table as policy_table_lib
from offline_scaling.data.episodes import TMP_SUFFIX, Episode
from offline_scaling.data.policy_table import PolicyRecord
from offline_scaling.envs.minatar import STICKY_ACTION_PROB, make_minatar_env, minatar_game_name
from offline_scaling.errors import OfflineScalingError
from offline_scaling.nets.minatar import MinAtarCNN
from offline_scaling.train import checkpoints, runs
from offline_scaling.train.replay_buffer import ReplayBuffer


def default_config() -> ml_collections.ConfigDict:
  """One replay run's settings (module docstring; the agent's in `config.agent`)."""
  c = ml_collections.ConfigDict()
  c.frames = 5_000_000            # agent steps (= MinAtar frames) per run
  c.checkpoints = 50              # spans the run is logged in (DQN Replay: 50)
  c.replay_capacity = 100_000
  c.batch_size = 32
  c.min_replay_history = 1_000    # transitions stored before the first update
  c.update_period = 4             # agent steps per update
  c.sticky_action_prob = STICKY_ACTION_PROB
  c.width_mult = 1.0
  c.hidden = 128
  c.conv = "patch"
  c.agent = dqn.default_config()
  return c


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the run's settings; one `OfflineScalingError` naming the flag."""
  for name in ("frames", "checkpoints", "replay_capacity", "batch_size", "update_period"):
    value = config[name]
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
      raise OfflineScalingError(f"--{name}={value!r} must be a positive integer")
  if config.frames % config.checkpoints:
    raise OfflineScalingError(f"--frames={config.frames} must be a multiple of "
                              f"--checkpoints={config.checkpoints} (equal spans)")
  if config.min_replay_history < config.batch_size:
    raise OfflineScalingError(f"min_replay_history={config.min_replay_history} must be at "
                              f"least batch_size={config.batch_size}")
  dqn.validate_config(config.agent)


def run_dir(workdir: str | epath.Path, game: str, run: int) -> epath.Path:
  """`<workdir>/<game>/run_<run>`: one DQN run's log."""
  return epath.Path(workdir) / minatar_game_name(game).lower() / f"run_{run}"


def frames_done(workdir: str | epath.Path, game: str, run: int) -> int:
  """Frames run `run` of `game` has logged so far (the last span end in its
  `progress.jsonl`; 0 before its first)."""
  log = run_dir(workdir, game, run) / "progress.jsonl"
  if not log.exists():
    return 0
  lines = [line for line in log.read_text().splitlines() if line.strip()]
  return int(json.loads(lines[-1])["frames"]) if lines else 0


def policy_id(game: str, run: int, checkpoint: int) -> str:
  """`<game>/run_<r>/<i>`, the id of run r's checkpoint i."""
  return f"{minatar_game_name(game).lower()}/run_{run}/{checkpoint}"


@dataclasses.dataclass
class _Host:
  """What the run keeps on the host besides the agent state (saved at span ends)."""
  buffer: ReplayBuffer
  env: object
  rng: np.random.Generator
  obs: np.ndarray
  # The unfinished episode: its frames o_0 … o_t, actions and raw rewards so far.
  frames: list
  actions: list
  rewards: list

  def save(self, path: epath.Path) -> None:
    arrays = self.buffer.arrays()
    blob = pickle.dumps((self.env, self.rng.bit_generator.state))
    arrays.update(host=np.frombuffer(blob, np.uint8), obs_now=self.obs,
                  ep_frames=np.asarray(self.frames, np.uint8).reshape(-1, *self.obs.shape),
                  ep_actions=np.asarray(self.actions, np.int64),
                  ep_rewards=np.asarray(self.rewards, np.float32))
    tmp = path.parent / (path.name + TMP_SUFFIX)
    with tmp.open("wb") as f:
      np.savez(f, **arrays)
    tmp.replace(path)

  @classmethod
  def load(cls, path: epath.Path) -> "_Host":
    with path.open("rb") as f:
      a = dict(np.load(f))
    env, rng_state = pickle.loads(a["host"].tobytes())
    rng = np.random.default_rng()
    rng.bit_generator.state = rng_state
    return cls(ReplayBuffer.from_arrays(a), env, rng, a["obs_now"], list(a["ep_frames"]),
               list(a["ep_actions"]), list(a["ep_rewards"]))


def _settings(config: ml_collections.ConfigDict, game: str, run: int) -> dict:
  return dict(game=minatar_game_name(game), run=run, config=json.loads(config.to_json()))


def _check_settings(out: epath.Path, settings: dict) -> None:
  """Writes the run's settings, or checks that a resumed run has the same ones."""
  path = out / "config.json"
  if not path.exists():
    policy_table_lib.write_json_atomic(path, settings)
    return
  saved = json.loads(path.read_text())
  if saved != settings:
    flat = lambda d, p="": ({f"{p}{k}": v for key, val in d.items()
                             for k, v in flat(val, f"{key}.").items()}
                            if isinstance(d, dict) else {p[:-1]: d})
    old, new = flat(saved), flat(settings)
    diff = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    raise OfflineScalingError(
        f"'{out}' holds a run with other settings ({', '.join(diff)} differ): "
        "use another --workdir, or the run's own settings")


def write_policy_table(workdir: str | epath.Path, game: str) -> epath.Path:
  """(Re)writes `<workdir>/<game>/policy_table.json` from every run's progress log.

  Returns:
    The table's path.
  """
  root = epath.Path(workdir) / minatar_game_name(game).lower()
  records = []
  for log in sorted(root.glob("run_*/progress.jsonl")):
    for line in log.read_text().splitlines():
      row = json.loads(line)["policy"] if line.strip() else None
      if row:
        records.append(PolicyRecord(**row))
  path = root / policy_table_lib.TABLE_NAME
  policy_table_lib.write_policy_table(path, records)
  return path


@dataclasses.dataclass
class _Run:
  """One run of a lockstep group: where it logs, and what it holds on the host."""
  run: int
  out: epath.Path
  host: _Host
  snapshots: object
  resume: object
  episodes: list


def train_run(game: str, run: int, workdir: str | epath.Path,
              config: ml_collections.ConfigDict,
              on_checkpoint: Callable[[dict], None] | None = None) -> epath.Path:
  """Plays and learns one DQN run, logging its replay (module docstring).

  `train_runs([run])`; a finished run is left as it is, a killed one resumes
  at its last span end.

  Args:
    game: a MinAtar game ('breakout', ...).
    run: the run number; seeds the network, the env and the exploration.
    workdir: the replay's root directory.
    config: `default_config()` or a variant.
    on_checkpoint: called with each span's progress record as it ends.

  Returns:
    The run's directory.
  """
  return train_runs(game, [run], workdir, config, on_checkpoint)[0]


def train_runs(game: str, run_numbers: list[int], workdir: str | epath.Path,
               config: ml_collections.ConfigDict,
               on_checkpoint: Callable[[dict], None] | None = None) -> list[epath.Path]:
  """Plays and learns several independent DQN runs of one game in lockstep.

  Each run has its own network, replay, env, exploration RNG and log, exactly
  as if it ran alone; playing them together only batches their network
  calls: one greedy-action call per frame and one update call per 4 frames
  for all of them (`jax.vmap` over runs), which is what a frame costs on a
  CPU. Runs resumed at different span ends are played in separate groups.
  A run's numbers can differ from a solo run's in float rounding (batched
  matrix products), not otherwise.

  Args:
    game: as `train_run`.
    run_numbers: the runs, e.g. [1, 2, 3].
    workdir: as `train_run`.
    config: as `train_run`.
    on_checkpoint: as `train_run`; it gets each run's record (its field
      `run` says which).

  Returns:
    The runs' directories, in the order given.
  """
  validate(config)
  span = config.frames // config.checkpoints
  env = make_minatar_env(game, sticky_action_prob=config.sticky_action_prob)
  obs_shape, num_actions = env.observation_space.shape, int(env.action_space.n)
  torso = MinAtarCNN(config.width_mult, conv=config.conv, hidden=config.hidden)
  agent = dqn.make_agent(torso, obs_shape, num_actions, config.agent)
  init = jax.jit(agent.init)
  groups: dict[int, list[tuple[int, object]]] = {}
  for run in run_numbers:
    out = run_dir(workdir, game, run)
    _check_settings(out, _settings(config, game, run))
    latest = checkpoints.restore_latest(checkpoints.manager(out / "resume", max_to_keep=1),
                                        init(jax.random.PRNGKey(run)))
    start = 0 if latest is None else latest[0]
    groups.setdefault(start, []).append((run, latest))
  for start in sorted(groups):
    if start < config.frames:
      _play_group(game, groups[start], start, workdir, config, agent, init, obs_shape, span,
                  on_checkpoint)
  return [run_dir(workdir, game, run) for run in run_numbers]


def _play_group(game, members, start, workdir, config, agent, init, obs_shape, span,
                on_checkpoint) -> None:
  """Plays runs that all stand at frame `start` up to `config.frames` (`train_runs`)."""
  runs_, states = [], []
  for run, latest in members:
    out = run_dir(workdir, game, run)
    if latest is None:
      env = make_minatar_env(game, seed=run, sticky_action_prob=config.sticky_action_prob)
      obs, _ = env.reset()
      host = _Host(ReplayBuffer(config.replay_capacity, obs_shape), env,
                   np.random.default_rng(run), obs, [], [], [])
      states.append(init(jax.random.PRNGKey(run)))
    else:
      host = _Host.load(out / "resume" / f"host_{start}.npz")
      states.append(latest[1])
    runs.truncate_jsonl(out / "progress.jsonl", "frames", start)
    runs_.append(_Run(run, out, host, checkpoints.manager(out / "snapshots"),
                      checkpoints.manager(out / "resume", max_to_keep=1), []))
  state = jax.tree.map(lambda *x: jax.numpy.stack(x), *states)   # [R, ...] per leaf
  greedy = jax.jit(jax.vmap(lambda params, obs: agent.act(params, obs[None], None,
                                                          deterministic=True)[0]))
  update = jax.jit(jax.vmap(agent.update), donate_argnums=0)
  num_actions = int(runs_[0].host.env.action_space.n)
  for checkpoint in range(start // span, config.checkpoints):
    t0 = time.perf_counter()
    first, last = checkpoint * span, (checkpoint + 1) * span
    eps = np.asarray(dqn.epsilon(np.arange(first, last), config.agent))
    metrics = None
    for r in runs_:
      r.episodes = []
    for t in range(first, last):
      explore = [r.host.rng.random() < eps[t - first] for r in runs_]
      greedy_actions = (None if all(explore) else
                        np.asarray(greedy(state.params, np.stack([r.host.obs for r in runs_]))))
      for k, r in enumerate(runs_):
        action = (int(r.host.rng.integers(num_actions)) if explore[k]
                  else int(greedy_actions[k]))
        _step(r, action, game, checkpoint, last)
      if (t + 1) % config.update_period == 0 and (
          runs_[0].host.buffer.add_count > config.min_replay_history):
        batch = [r.host.buffer.sample(r.host.rng, config.batch_size) for r in runs_]
        state, metrics = update(state, {key: np.stack([b[key] for b in batch])
                                        for key in batch[0]})
    seconds = time.perf_counter() - t0
    for k, r in enumerate(runs_):
      mine = jax.tree.map(lambda x, k=k: x[k], state)
      record = _end_span(r, checkpoint, last, mine,
                         None if metrics is None else float(metrics["loss"][k]),
                         eps[-1], seconds, span * len(runs_))
      with (r.out / "progress.jsonl").open("a") as f:
        f.write(json.dumps(record) + "\n")
      if on_checkpoint:
        on_checkpoint(record)
    write_policy_table(workdir, game)


def _step(r: _Run, action: int, game: str, checkpoint: int, last: int) -> None:
  """One frame of run `r`: act, store the transition, log the episode when it ends."""
  host = r.host
  next_obs, reward, terminated, truncated, _ = host.env.step(action)
  host.buffer.add(host.obs, action, np.clip(reward, -1.0, 1.0), terminated,
                  continues=bool(host.frames))
  host.frames.append(host.obs)
  host.actions.append(action)
  host.rewards.append(reward)
  if terminated or truncated:
    r.episodes.append(Episode(
        observations=np.stack(host.frames + [next_obs]).astype(np.uint8),
        actions=np.asarray(host.actions, np.int64),
        rewards=np.asarray(host.rewards, np.float32), terminated=terminated,
        policy_id=policy_id(game, r.run, checkpoint), env=minatar_game_name(game).lower(),
        seed=r.run, checkpoint_step=last, index=len(r.episodes)))
    host.frames, host.actions, host.rewards = [], [], []
    next_obs, _ = host.env.reset()
  host.obs = next_obs


def _end_span(r: _Run, checkpoint, frames, state, loss, epsilon, seconds, frames_played
              ) -> dict:
  """Writes span `checkpoint`'s shard, snapshot and resume state of run `r`;
  returns its progress record (`steps_per_s`: the group's frames per second)."""
  episodes, out = r.episodes, r.out
  row = None
  clipped = [float(np.clip(e.rewards, -1.0, 1.0).sum()) for e in episodes]
  if episodes:
    shard = f"{out.name}/episodes/{checkpoint:03d}.tfrecord"
    episodes_lib.write_shard(out.parent / shard, episodes)
    row = dataclasses.asdict(PolicyRecord(
        policy_id=episodes[0].policy_id, env=episodes[0].env, seed=episodes[0].seed,
        checkpoint_step=frames, value=float(np.mean(clipped)), std=float(np.std(clipped)),
        num_episodes=len(episodes), num_steps=int(sum(e.length for e in episodes)),
        shard=shard))
  meta = dict(checkpoint=checkpoint, frames=frames)
  if frames not in r.snapshots.all_steps():  # a run killed after it resumes here
    checkpoints.save(r.snapshots, frames, state.params, meta)
  # The host state first: a resume step is only listed once orbax has renamed
  # it into place, and then its host file is already whole.
  r.host.save(out / "resume" / f"host_{frames}.npz")
  checkpoints.save(r.resume, frames, state, meta)
  for old in (out / "resume").glob("host_*.npz"):
    if old.name != f"host_{frames}.npz":
      old.unlink()
  return dict(
      run=r.run, checkpoint=checkpoint, frames=frames, policy=row, episodes=len(episodes),
      return_raw=float(np.mean([e.episode_return for e in episodes])) if episodes else None,
      return_clipped=float(np.mean(clipped)) if episodes else None,
      epsilon=float(epsilon), updates=int(state.step), loss=loss,
      wall_s=round(seconds, 2), steps_per_s=round(frames_played / seconds, 1))
