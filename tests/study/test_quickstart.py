"""The smoke quickstart end to end, killed mid-sweep and restarted.

One real run of the whole pipeline (PPO experts → episodes → RFI/RCI at four
sizes × three expertise levels → evaluation → BNSL → report) with two worker
processes, SIGKILLed after a random number of finished points: the workers
die with it, the restart finishes the rest, and every point ends with exactly
one result and a metrics log without repeated or missing steps. The experts and
episodes are the session's smoke zoo (`conftest.smoke`), copied in: the
quickstart finds those stages done and resumes at the points, as after a kill
there.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

from offline_scaling.study import grid, sweep

from tests.conftest import REPO, run_script

ARGS = ("--preset=smoke", "--workers=2")


def _finished(workdir):
  return list((workdir / "runs").glob("*/result.json"))


def test_smoke_quickstart_survives_a_kill_and_writes_the_report(smoke, tmp_path):
  _, zoo = smoke
  for stage_dir in ("zoo", "episodes"):
    shutil.copytree(zoo / stage_dir, tmp_path / stage_dir)
  kill_after = random.randint(1, 8)
  proc = subprocess.Popen([sys.executable, "-m", "experiments.quickstart", *ARGS,
                           f"--workdir={tmp_path}"], cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.monotonic() + 400
  try:
    while len(_finished(tmp_path)) < kill_after:
      assert proc.poll() is None, "the quickstart ended before the kill"
      assert time.monotonic() < deadline, "no progress"
      time.sleep(0.2)
  finally:   # also when the test fails: a sweep left running would load every later test
    proc.send_signal(signal.SIGKILL)   # (a no-op once the process has been waited for)
    proc.wait()
  deadline = time.monotonic() + 30
  while True:   # the workers die with the sweep (PR_SET_PDEATHSIG): nothing left to race
    try:
      os.killpg(proc.pid, 0)
    except ProcessLookupError:
      break
    assert time.monotonic() < deadline, "worker processes outlived the killed sweep"
    time.sleep(0.2)
  done_before = len(_finished(tmp_path))

  out = run_script("experiments.quickstart", *ARGS, f"--workdir={tmp_path}", timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  done = int(re.search(r"sweep smoke: 24 points in this task, (\d+) done", out.stdout)[1])
  assert done == done_before >= kill_after

  config = grid.get_sweep("smoke")
  ids = {grid.point_id(config, p) for p in grid.points(config)}
  assert {p.parent.name for p in _finished(tmp_path)} == ids
  for rid in ids:
    run = sweep.runs_dir(tmp_path) / rid
    result = json.loads((run / "result.json").read_text())
    assert result["run_id"] == rid and result["steps"] == config.run.train.steps
    lines = (run / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines]
    every = config.run.train.log_every
    assert steps == list(range(every, config.run.train.steps + 1, every)), (rid, steps)

  report = (tmp_path / "report" / "report.md").read_text()
  for algo in ("rfi", "rci"):
    for e in ("0.4", "0.7", "1"):
      # size | seeds | return [95% CI] | best expert | ratio [CI] | passes
      assert re.search(rf"\| hopper \| {algo} \| {e} \| [\d,]+ \| 2 \| -?[\d.,]+ "
                       rf"\[-?[\d.,]+, -?[\d.,]+\] \| .* \| [\d.,]+ \|\n", report)
  assert report.count("](bnsl/") == 6 and "held-out RMSLE" in report
  for stem in ("performance_vs_expertise", "size_vs_quality", "conditioning", "training_curves",
               "bnsl_extrapolation"):
    assert (tmp_path / "report" / f"{stem}.png").stat().st_size > 10_000
  assert "Performance at scale" in out.stdout and "report.md" in out.stdout
