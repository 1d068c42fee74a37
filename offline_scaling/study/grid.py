"""Sweep grids: named grids of runs, their points, run configs and run ids.

A sweep is a `ConfigDict`:

* `domain` ('pybullet' | 'atari' | 'minatar');
* the grid's axes (`AXES`), each a tuple: `envs`, `algos`, `expertise`,
  `num_policies` (the numbers of experts P each dataset is sub-sampled to:
  the diversity axis) and `sizes` (parameter counts for PyBullet MLPs, width
  multipliers for the Atari Impala-CNN and the MinAtar CNN). The presets hold one P, e.g.
  `(100,)`; `--set="num_policies=(5, 20, 50, 100)"` makes P vary. On the
  command line a bare value is a one-value axis (`--set=num_policies=50`
  means `(50,)`);
* `num_seeds` (vmapped inside each run), `selection_rule`, `conditioners`
  (RCI evaluations);
* `run`: settings of the runs, nested like the run config (`run.train.steps`);
  each applies to the points whose run config has it (`run.agent.alpha`: the
  CQL points of a sweep that also runs RFI);
* PyBullet data stages: `experts` (PPO seeds, env steps, checkpoint interval)
  and `collect`, or `data_dir`, an existing collection (then both stages are
  skipped). `collect.episodes`: the valuation collection, episodes per zoo
  policy (they give its value); `collect.one_pass` (default False): then top
  the policies the points select up until each point's selection holds its
  sample budget, so its run sees each transition at most once
  (`study.sizing`); `collect.max_steps_per_policy` (0 = none): a cap on any
  policy's transitions under `one_pass`. A one-pass run takes the same
  number of each selected policy's first episodes (`equal_episodes`), the
  fewest that hold its budget, as the paper's datasets hold a fixed number of
  episodes per policy;
* Atari data: `data` (source, data_dir, ...; see `train.atari_run`).
* MinAtar data: `replay` (runs, frames, checkpoints: the online DQN runs the
  sweep's experts stage logs, `train.online_dqn`) and `data` (num_episodes;
  data_dir: an existing replay instead, then that stage is skipped).

A point is one (env, algo, expertise, num_policies, size); its id hashes
everything that decides its result (the point, the run settings, the data
settings), not the paths, so it is the same wherever the workdir lies. A
point's P enters its id only as its run config's `num_policies` (an int, as
before P was an axis), so a point has the same id whether the sweep varies P
or not, and the presets' ids are those they always had.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers

import ml_collections

from offline_scaling.errors import OfflineScalingError
from offline_scaling.train import (atari_run, minatar_run, online_dqn, pybullet_cql,
                                   pybullet_imitation, runs)

DOMAINS = ("pybullet", "atari", "minatar")
ALGOS = {"pybullet": ("bc", "rfi", "rci", "cql"), "atari": ("cql", "rci"),
         "minatar": minatar_run.ALGOS}
PAPER_CONDITIONERS = (0.5, 0.75, 1.0, 1.25, 1.5)
# The grid's axes, in the order points are listed (and `Point`'s fields).
AXES = ("envs", "algos", "expertise", "num_policies", "sizes")


@dataclasses.dataclass(frozen=True)
class Point:
  """One run of a sweep. `num_policies`: P, the experts its data come from;
  `size`: parameter count (PyBullet) or width multiplier (Atari)."""
  env: str
  algo: str
  expertise: float
  num_policies: int
  size: float

  def label(self, show_p: bool = False) -> str:
    """A short human name, e.g. 'hopper rci e=0.7 20,000 params'; with `show_p`
    (for a sweep that varies P) 'hopper rci e=0.7 P=20 20,000 params'."""
    size = f"{int(self.size):,} params" if self.size >= 100 else f"width ×{self.size:g}"
    p = f" P={self.num_policies}" if show_p else ""
    return f"{self.env} {self.algo} e={self.expertise:g}{p} {size}"


def _base(domain: str) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = ""
  c.domain = domain
  c.envs = ()
  c.algos = ()
  c.expertise = ()
  c.num_policies = (100,)
  c.sizes = ()
  c.num_seeds = 1
  c.selection_rule = "value"
  c.conditioners = PAPER_CONDITIONERS
  c.run = ml_collections.ConfigDict()
  c.fit = ml_collections.ConfigDict(dict(holdout=1, n_bootstrap=100))
  if domain == "pybullet":
    c.data_dir = ""
    c.experts = ml_collections.ConfigDict(dict(seeds=5, total_steps=2_000_000,
                                               checkpoint_every=20_000))
    c.collect = ml_collections.ConfigDict(dict(episodes=10, one_pass=False,
                                               max_steps_per_policy=0))
  elif domain == "atari":
    c.data = ml_collections.ConfigDict(dict(source="rlu", data_dir="", num_episodes=10_000))
  else:
    c.replay = ml_collections.ConfigDict(dict(runs=3, frames=5_000_000, checkpoints=50))
    c.data = ml_collections.ConfigDict(dict(data_dir="", num_episodes=0))
  return c


def _pybullet(name, envs, expertise, sizes, num_seeds, steps, batch_size, eval_episodes,
              eval_every, conditioners, experts, episodes, num_policies, selection_rule="value",
              one_pass=False):
  c = _base("pybullet")
  c.update(name=name, envs=envs, algos=("rfi", "rci"), expertise=expertise, sizes=sizes,
           num_seeds=num_seeds, conditioners=conditioners, num_policies=(num_policies,),
           selection_rule=selection_rule)
  c.run = ml_collections.ConfigDict(dict(
      eval_episodes=eval_episodes,
      train=dict(steps=steps, batch_size=batch_size, eval_every=eval_every,
                 updates_per_call=min(100, eval_every), log_every=eval_every,
                 checkpoint_every=eval_every)))
  c.experts.update(experts)
  c.collect.update(episodes=episodes, one_pass=one_pass)
  return c


def pybullet_paper() -> ml_collections.ConfigDict:
  """4 envs × {RFI, RCI} × 5 expertise levels × 10K–300M params × 8 seeds."""
  return _pybullet("pybullet_paper", ("halfcheetah", "hopper", "walker2d", "ant"),
                   (0.2, 0.4, 0.6, 0.8, 1.0),
                   (10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000, 10_000_000,
                    30_000_000, 100_000_000, 300_000_000),
                   num_seeds=8, steps=500_000, batch_size=256, eval_episodes=10,
                   eval_every=50_000, conditioners=PAPER_CONDITIONERS,
                   experts=dict(seeds=5, total_steps=2_000_000, checkpoint_every=20_000),
                   episodes=10, num_policies=100)


def pybullet_repro() -> ml_collections.ConfigDict:
  """The paper's PyBullet protocol scaled to a 2-core machine (docs/reproduction.md).

  Hopper; 3 PPO seeds × 1M env steps, a checkpoint every 20k (150 experts),
  each valued on 5 episodes; the paper's expertise levels with its `value`
  rule; RFI and RCI at 5 sizes from 10K parameters (aspect ratio 256); 5
  seeds (independent in init and data order), 10 evaluation episodes each.
  The number of updates is where the largest model's return stops rising
  (see the reproduction page). The collection is sized for one pass
  (`collect.one_pass`): the policies each level selects are topped up to the
  same number k of episodes, the fewest whose transitions together hold its
  20,000 × 256 = 5.12M samples (`expertise.episodes_for_budget`), each run
  takes each policy's first k episodes (`equal_episodes`) and streams once
  (`repeat=False`), so no run but RFI's, which cycles its top 10% of the
  episodes (its `passes` recorded), sees a transition twice. The runs behind docs/results/reproduction
  (the stream before its version 2, 3 seeds, 5 episodes per policy, ~10
  passes) have other ids. `--set="envs=('halfcheetah',)"` runs HalfCheetah.
  """
  return _pybullet("pybullet_repro", ("hopper",), (0.2, 0.4, 0.6, 0.8, 1.0),
                   (10_000, 20_000, 45_000, 100_000, 320_000),
                   num_seeds=5, steps=20_000, batch_size=256, eval_episodes=10,
                   eval_every=5_000, conditioners=PAPER_CONDITIONERS,
                   experts=dict(seeds=3, total_steps=1_000_000, checkpoint_every=20_000),
                   episodes=5, num_policies=100, one_pass=True)


# A short PPO run improves in jumps (e.g. values ..., 233, 292, 301, 676, 728, 890):
# with the `value` rule, neighbouring expertise levels can then select the same
# policies. The small presets use `rank`, which always gives nested, distinct sets.


def quickstart() -> ml_collections.ConfigDict:
  """Hopper, a real but small study: 5 sizes (so a BNSL fitted without the
  largest keeps more sizes than parameters), trained until the largest model's
  return has flattened; about 20 minutes on two idle cores (19 min 44 s measured
  on 2026-12-03, raw HopperBulletEnv 3,900–5,100 steps/s)."""
  return _pybullet("quickstart", ("hopper",), (0.4, 0.7, 1.0),
                   (2_000, 4_500, 10_000, 22_000, 50_000),
                   num_seeds=3, steps=8_000, batch_size=256, eval_episodes=4,
                   eval_every=2_000, conditioners=(0.5, 1.0, 1.5),
                   experts=dict(seeds=2, total_steps=240_000, checkpoint_every=20_000),
                   episodes=4, num_policies=12, selection_rule="rank")


def smoke() -> ml_collections.ConfigDict:
  """The quickstart's shape at toy length: every stage in under 3 minutes.

  The toy data are tiny (RFI's top 10% is one short episode), so every
  transition a run draws costs many passes over the shards: the runs are kept
  to 100 updates of batch 32.
  """
  c = _pybullet("smoke", ("hopper",), (0.4, 0.7, 1.0), (1_000, 2_000, 4_000, 8_000),
                num_seeds=2, steps=100, batch_size=32, eval_episodes=2,
                eval_every=50, conditioners=(0.5, 1.0, 1.5),
                experts=dict(seeds=2, total_steps=8_000, checkpoint_every=2_000),
                episodes=2, num_policies=4, selection_rule="rank")
  c.fit.n_bootstrap = 20
  return c


def _atari(name, games, expertise, widths, num_seeds, steps, data, eval_episodes, eval_every,
           num_policies):
  c = _base("atari")
  # The `rank` rule, so that every level holds P checkpoints: under `value`, DQN's
  # fast early learning leaves few checkpoints below the low levels' thresholds.
  c.update(name=name, envs=games, algos=("cql", "rci"), expertise=expertise, sizes=widths,
           num_seeds=num_seeds, num_policies=(num_policies,), selection_rule="rank")
  c.run = ml_collections.ConfigDict(dict(
      eval_episodes=eval_episodes,
      train=dict(steps=steps, eval_every=eval_every, checkpoint_every=eval_every,
                 log_every=min(eval_every, 1_000))))
  c.data.update(data)
  return c


def atari_paper() -> ml_collections.ConfigDict:
  """5 games × {CQL, RCI} × 4 expertise levels × Impala widths 0.5–6 × 3 seeds, on
  DQN Replay from GCS (RL Unplugged layout).

  P = 50 of the 200 checkpoints (5 runs × the first 40) at every level, and
  10,000 episodes split evenly over them (200 per checkpoint): the paper fixes
  the number of policies and of episodes per policy so that diversity does not
  confound quality. The levels select by `rank` (level e: the lowest e·200
  checkpoints by value), and 50 is the most the lowest level gives (a quarter
  of 200). Under `value` a level whose threshold few checkpoints fall below
  (DQN learns fast early, so most checkpoints are good) would take them all,
  and P would change with the level.
  """
  return _atari("atari_paper", ("Breakout", "Enduro", "MsPacman", "Pong", "SpaceInvaders"),
                (0.25, 0.5, 0.75, 1.0), (0.5, 1.0, 2.0, 3.0, 4.0, 6.0), num_seeds=3,
                steps=1_000_000, eval_episodes=10, eval_every=100_000,
                data=dict(source="rlu", data_dir="gs://rl_unplugged/atari_episodes_ordered",
                          num_episodes=10_000), num_policies=50)


def atari_small() -> ml_collections.ConfigDict:
  """Pong on the locally generated stand-in data: a laptop-sized Atari sweep."""
  return _atari("atari_small", ("Pong",), (0.5, 1.0), (0.5, 1.0), num_seeds=1, steps=2_000,
                eval_episodes=2, eval_every=1_000,
                data=dict(source="local", data_dir="", num_episodes=60), num_policies=4)


def _minatar(name, games, expertise, widths, num_seeds, steps, eval_episodes, eval_every,
             num_policies, replay):
  c = _base("minatar")
  c.update(name=name, envs=games, algos=minatar_run.ALGOS, expertise=expertise, sizes=widths,
           num_seeds=num_seeds, num_policies=(num_policies,), selection_rule="rank")
  c.run = ml_collections.ConfigDict(dict(
      eval_episodes=eval_episodes,
      train=dict(steps=steps, eval_every=eval_every, checkpoint_every=eval_every,
                 updates_per_call=min(100, eval_every), log_every=eval_every)))
  c.replay.update(replay)
  return c


def minatar_repro() -> ml_collections.ConfigDict:
  """The paper's Atari study on MinAtar (docs/minatar.md): Breakout and
  SpaceInvaders × {CQL, RCI, BC} × the Atari expertise levels × MinAtar CNN
  widths 0.125–1 (BC 3.4K–206K parameters, 1.8 orders of magnitude) × 5
  seeds, 10 evaluation episodes each. Width 2 (822K) would cost about as much
  as the other widths together, four times width 1 (the FC layer grows as the
  width squared), so it is left to machines larger than 2 cores
  (`--set="sizes=(0.25, 0.5, 1.0, 2.0)"`).

  The data: 3 online DQN runs per game × 5M frames, logged in 50 checkpoints
  of 100,000 transitions (150 policies); P = 20 at every level (`rank` rule:
  level e holds the lowest e·150 checkpoints by value, 37 at e = 0.25), each with all
  its checkpoint's episodes, so every level's dataset holds about 2M
  transitions, and 60,000 updates of batch 32 (1.9M samples) see each at
  most once.
  """
  return _minatar("minatar_repro", ("breakout", "spaceinvaders"), (0.25, 0.5, 0.75, 1.0),
                  (0.125, 0.25, 0.5, 1.0), num_seeds=5, steps=60_000, eval_episodes=10,
                  eval_every=15_000, num_policies=20,
                  replay=dict(runs=3, frames=5_000_000, checkpoints=50))


def minatar_smoke() -> ml_collections.ConfigDict:
  """Every MinAtar stage at toy length: 2 short DQN runs of Breakout, one
  point per algorithm (about 3 minutes on 2 cores)."""
  c = _minatar("minatar_smoke", ("breakout",), (1.0,), (0.25,), num_seeds=2, steps=20,
               eval_episodes=2, eval_every=20, num_policies=3,
               replay=dict(runs=2, frames=1_500, checkpoints=3))
  c.fit.n_bootstrap = 20
  return c


SWEEPS = {f.__name__: f for f in (pybullet_paper, pybullet_repro, atari_paper, quickstart, smoke,
                                  atari_small, minatar_repro, minatar_smoke)}


def get_sweep(name: str) -> ml_collections.ConfigDict:
  """The named sweep (see `SWEEPS`); one message listing the names otherwise."""
  if name not in SWEEPS:
    raise OfflineScalingError(f"--sweep={name!r} is not one of {', '.join(SWEEPS)}")
  return SWEEPS[name]()


def validate(sweep: ml_collections.ConfigDict) -> None:
  """Checks a sweep's own fields (each run's config is validated when it is built)."""
  if sweep.domain not in DOMAINS:
    raise OfflineScalingError(f"sweep domain {sweep.domain!r} must be one of {DOMAINS}")
  for field in AXES:
    if not sweep[field]:
      raise OfflineScalingError(f"sweep field {field} is empty")
  bad = [p for p in sweep.num_policies
         if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1]
  if bad:
    raise OfflineScalingError(
        f"sweep field num_policies {list(sweep.num_policies)}: each number of experts P "
        f"must be an integer >= 1, not {', '.join(map(repr, bad))}")
  bad = [a for a in sweep.algos if a not in ALGOS[sweep.domain]]
  if bad:
    raise OfflineScalingError(
        f"sweep algos {bad} are not {sweep.domain} algorithms {ALGOS[sweep.domain]}")
  if sweep.domain == "pybullet" and min(sweep.sizes) < 1_000:
    raise OfflineScalingError(f"sweep sizes {list(sweep.sizes)} must be >= 1,000 parameters")
  if sweep.domain != "pybullet" and min(sweep.sizes) <= 0:
    raise OfflineScalingError(f"sweep sizes {list(sweep.sizes)} must be positive widths")
  if sweep.domain == "pybullet":
    _check_collect(sweep.collect)
  if sweep.domain == "minatar":
    runs_ = sweep.replay.runs
    if isinstance(runs_, bool) or not isinstance(runs_, numbers.Integral) or runs_ < 1:
      raise OfflineScalingError(f"sweep field replay.runs={runs_!r} must be an integer >= 1")
    online_dqn.validate(replay_config(sweep))


def replay_config(sweep: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The online DQN settings of a MinAtar sweep's replay runs (`train.online_dqn`)."""
  c = online_dqn.default_config()
  c.frames, c.checkpoints = sweep.replay.frames, sweep.replay.checkpoints
  return c


def _check_collect(c: ml_collections.ConfigDict) -> None:
  """The collect stage's settings: one message naming the field."""
  for field, low in (("episodes", 1), ("max_steps_per_policy", 0)):
    value = c[field]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
      raise OfflineScalingError(f"sweep field collect.{field}={value!r} must be an integer "
                                f">= {low}")
  if not isinstance(c.one_pass, bool):
    raise OfflineScalingError(f"sweep field collect.one_pass={c.one_pass!r} must be True "
                              "or False")


def points(sweep: ml_collections.ConfigDict) -> list[Point]:
  """Every point, env-major then algo, expertise, P and size (`AXES`)."""
  validate(sweep)
  return [Point(env, algo, float(e), int(p), float(s)) for env, algo, e, p, s in
          itertools.product(*(sweep[axis] for axis in AXES))]


def _flatten(config: ml_collections.ConfigDict, prefix: str = "") -> dict:
  out = {}
  for k, v in config.items():
    if isinstance(v, ml_collections.ConfigDict):
      out.update(_flatten(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def pybullet_module(algo: str):
  """The train module of a PyBullet run of `algo`: `pybullet_cql` or `pybullet_imitation`."""
  return pybullet_cql if algo == "cql" else pybullet_imitation


def run_module(domain: str, algo: str):
  """The train module of a run (its `validate` and `run`): per domain and algorithm."""
  if domain == "pybullet":
    return pybullet_module(algo)
  return atari_run if domain == "atari" else minatar_run


def run_config(sweep: ml_collections.ConfigDict, point: Point,
               data_dir: str = "") -> ml_collections.ConfigDict:
  """The full run config of `point` (`data_dir`: PyBullet's collection, MinAtar's replay)."""
  if sweep.domain == "pybullet":
    c = pybullet_module(point.algo).default_config()
    c.data = data_dir
    c.agent.algo = point.algo
    c.agent.param_count = int(point.size)
  elif sweep.domain == "minatar":
    c = minatar_run.default_config(point.algo)
    c.width_mult = point.size
    c.num_episodes = sweep.data.num_episodes
    c.data_dir = data_dir
  else:
    c = atari_run.default_config(point.algo)
    c.width_mult = point.size
    c.update(sweep.data)
  c.update(env=point.env, expertise=point.expertise, selection_rule=sweep.selection_rule,
           num_policies=point.num_policies)
  c.train.num_seeds = sweep.num_seeds
  if sweep.domain == "pybullet" and sweep.collect.one_pass:
    # Sized for one pass, the runs stream once over the same number of each
    # policy's episodes; RFI's top 10% would need ten times the data, so it
    # cycles them (its result records the passes).
    c.equal_episodes = True
    c.stream.repeat = point.algo == "rfi"
  if point.algo == "rci":
    c.conditioners = tuple(sweep.conditioners)
  # A setting other algorithms lack (CQL's alpha) leaves their points, and ids, as they are.
  c.update_from_flattened_dict({k: v for k, v in _flatten(sweep.run).items() if _has(c, k)})
  return c


def check_runs(sweep: ml_collections.ConfigDict, data_dir: str) -> None:
  """Builds every point's run config and validates it with its run module's own
  `validate`, before any stage spends time; `data_dir`: the collection the
  PyBullet runs will read (it need not exist yet).

  Raises:
    OfflineScalingError: one line, each distinct message once (with how many
      points it stops when not all of them).
  """
  pts = points(sweep)
  failed: dict[str, list[Point]] = {}
  for p in pts:
    c = run_config(sweep, p, data_dir)
    try:
      run_module(sweep.domain, p.algo).validate(c)
    except OfflineScalingError as e:
      failed.setdefault(str(e), []).append(p)
  if failed:
    show_p = len(sweep.num_policies) > 1
    raise OfflineScalingError("; ".join(
        msg if len(bad) == len(pts) else
        f"{msg} ({len(bad)} of the {len(pts)} points, e.g. {bad[0].label(show_p)})"
        for msg, bad in failed.items()))


def identity(sweep: ml_collections.ConfigDict, point: Point) -> ml_collections.ConfigDict:
  """What decides a point's result: the run config without paths, plus how its
  data were made."""
  c = ml_collections.ConfigDict(dict(domain=sweep.domain,
                                     run=run_config(sweep, point).to_dict()))
  if sweep.domain == "pybullet":
    c.data = (dict(data_dir=sweep.data_dir) if sweep.data_dir else
              dict(experts=sweep.experts.to_dict(), collect=sweep.collect.to_dict()))
  elif sweep.domain == "minatar":
    c.data = (dict(data_dir=sweep.data.data_dir) if sweep.data.data_dir else
              dict(replay=sweep.replay.to_dict()))
  return c


def point_id(sweep: ml_collections.ConfigDict, point: Point) -> str:
  """The point's run id: a hash of `identity` (stable across machines and workdirs)."""
  return runs.run_id(identity(sweep, point))


def _has(config: ml_collections.ConfigDict, dotted: str) -> bool:
  node = config
  for key in dotted.split("."):
    if not isinstance(node, ml_collections.ConfigDict) or key not in node:
      return False
    node = node[key]
  return True


def _algo_probes(sweep: ml_collections.ConfigDict) -> list[ml_collections.ConfigDict]:
  """The run config of one point of each of the sweep's algorithms."""
  return [run_config(sweep, p) for p in {p.algo: p for p in points(sweep)}.values()]


def override(sweep: ml_collections.ConfigDict, field: str, value) -> None:
  """Sets `field` (dotted) of the sweep; `run.<field>` may be any field of the
  run config of one of the sweep's algorithms (it applies to their points),
  and a bare value of an axis (`AXES`) is a one-value axis. One message naming
  the field if it does not exist, `value` has the wrong type, or (`validate`)
  a value out of range."""
  head, _, rest = field.partition(".")
  if not (_has(sweep, field) or
          (head == "run" and rest and any(_has(c, rest) for c in _algo_probes(sweep)))):
    raise OfflineScalingError(
        f"{field} is not a field of sweep {sweep.name}" +
        (f" nor of the run config of {', '.join(sweep.algos)}" if head == "run"
         else " (run settings go under run.)"))
  try:
    if head == "run":
      *parents, leaf = rest.split(".")
      node = sweep.run
      for key in parents:
        if key not in node:
          node[key] = ml_collections.ConfigDict()
        node = node[key]
      node[leaf] = value
      _algo_probes(sweep)   # the run configs check the type
    else:
      if field in AXES and not isinstance(value, (tuple, list)):
        value = (value,)
      sweep.update_from_flattened_dict({field: value})
      validate(sweep)
  except (TypeError, ValueError) as e:
    raise OfflineScalingError(f"{field}={value!r} has the wrong type: {e}") from None


def partition(items: list, task_index: int, num_tasks: int) -> list:
  """Task `task_index`'s share of `items`: every `num_tasks`-th, from `task_index`."""
  if num_tasks < 1 or not 0 <= task_index < num_tasks:
    raise OfflineScalingError(
        f"--task_index={task_index} must lie in [0, --num_tasks={num_tasks})")
  return items[task_index::num_tasks]
