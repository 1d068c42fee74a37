"""A sweep's finished points, kept small enough to commit, and brought back.

A study longer than a working session outlives its work directory only
through what is committed. `save` copies a finished point's records (a few
KB: `RECORDS`) to `<archive>/<run id>/`; `restore` copies a sweep's archived
points back into a work directory that lacks them, where the sweep counts
them done (`study.sweep.plan`) and the report reads them as if they had run
there. Run ids hash what decides a result (`study.grid.identity`), so an
archived point is restored only into a sweep whose point it is; a sweep that
makes its own data passes `accept`, which checks that the data made again
are the data the point ran on (a PPO zoo or DQN replay trained again on
another machine is not bit for bit the same: XLA's floats differ by CPU).

Checkpoints are not archived: what needs a point's parameters (the RCI
replays of `experiments.rci_conditioning`) needs the point re-run.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Collection

from etils import epath

from offline_scaling.errors import OfflineScalingError
from offline_scaling.study import conditioning
from offline_scaling.train import runs

# result.json, the sweep point, the evaluation and training logs, the RCI replays.
RECORDS = (runs.RESULT_NAME, "point.json", "evals.jsonl", "metrics.jsonl",
           conditioning.RECORD_NAME)


def _copy_records(src: epath.Path, dest: epath.Path) -> None:
  """Copies the `RECORDS` in directory `src` to `dest`, each whole (never half a
  file) and result.json last (a point with a result never lacks its logs)."""
  dest.mkdir(parents=True, exist_ok=True)
  for name in sorted(RECORDS, key=lambda n: n == runs.RESULT_NAME):
    if (src / name).exists():
      tmp = dest / f".{name}.tmp"
      tmp.write_bytes((src / name).read_bytes())
      os.replace(tmp, dest / name)


def save(run_dir: str | epath.Path, archive: str | epath.Path) -> epath.Path:
  """Copies the records of the finished run in `run_dir` to `<archive>/<run id>/`.

  Raises:
    OfflineScalingError: the run has no result.
  """
  run_dir = epath.Path(run_dir)
  if runs.read_result(run_dir) is None:
    raise OfflineScalingError(f"{run_dir / runs.RESULT_NAME} does not exist: only a "
                              "finished point is archived")
  dest = epath.Path(archive) / run_dir.name
  _copy_records(run_dir, dest)
  return dest


def archived(archive: str | epath.Path) -> dict[str, epath.Path]:
  """The archive's points: run id → its directory.

  Raises:
    OfflineScalingError: the archive does not exist, or a point's result.json
      is not JSON or names another run id (the file named).
  """
  root = epath.Path(archive)
  if not root.is_dir():
    raise OfflineScalingError(f"--archive={archive} is not a directory")
  out = {}
  for d in sorted(root.iterdir()):
    path = d / runs.RESULT_NAME
    if not path.exists():
      continue
    try:
      rid = json.loads(path.read_text()).get("run_id")
    except json.JSONDecodeError as e:
      raise OfflineScalingError(f"{path} is not JSON ({e})") from None
    if rid != d.name:
      raise OfflineScalingError(f"{path} holds run {rid!r}, not the {d.name!r} its "
                                "directory names: the archive was edited by hand")
    out[rid] = d
  return out


def restore(archive: str | epath.Path, runs_root: str | epath.Path,
            run_ids: Collection[str] | None = None,
            accept: Callable[[dict], bool] | None = None) -> tuple[list[str], list[str]]:
  """Copies the archived points (those in `run_ids`, or all) that have no result
  under `runs_root` into `runs_root/<run id>/`.

  A point with a result under `runs_root` keeps it; a point that was running
  there (checkpoints, no result) takes the archived records and is done.

  Args:
    archive: the archive directory.
    runs_root: where the points run (`<workdir>/runs`).
    run_ids: the points to restore; None: all.
    accept: `accept(result record) -> bool`: False leaves the point out (its
      data differ from what it ran on); None accepts every point.

  Returns:
    (the ids restored, the ids `accept` left out).
  """
  restored, refused = [], []
  for rid, src in archived(archive).items():
    dest = epath.Path(runs_root) / rid
    if (run_ids is not None and rid not in run_ids) or runs.read_result(dest) is not None:
      continue
    if accept is not None and not accept(runs.read_result(src)):
      refused.append(rid)
      continue
    _copy_records(src, dest)
    restored.append(rid)
  return restored, refused
