"""Atari CQL and RCI end to end on a tiny locally generated dataset (real ALE games)."""

import json

import pytest

from conftest import run_script
from synthetic import make_atari_source

TINY = ["--steps=20", "--seeds=2", "--batch_size=8", "--eval_episodes=1", "--num_episodes=3",
        "--config.torso=nature", "--config.train.updates_per_call=10",
        "--config.train.log_every=10", "--config.train.checkpoint_every=10",
        "--config.local.checkpoints=3", "--config.local.runs=1",
        "--config.local.steps_per_checkpoint=200", "--config.stream.shuffle_block=256"]


@pytest.mark.parametrize("algo", ["cql", "rci"])
def test_atari_run_on_generated_data(tmp_path, algo):
  extra = ["--conditioners=0.5,1"] if algo == "rci" else []
  proc = run_script(f"experiments.atari_{algo}", f"--data_dir={tmp_path / 'data'}",
                    f"--workdir={tmp_path / 'runs'}", *TINY, *extra, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "using the local Atari dataset" in proc.stdout
  (result_path,) = (tmp_path / "runs").glob("*/result.json")
  result = json.loads(result_path.read_text())
  assert result["domain"] == "atari" and result["algo"] == algo and result["env"] == "Pong"
  assert result["steps"] == 20 and result["samples_seen"] == 20 * 8
  assert len(result["selection"]["policy_ids"]) == 3
  assert result["dataset"]["num_episodes"] == 3  # one (whole) episode per checkpoint
  key = "c=1/returns" if algo == "rci" else "returns"
  assert len(result["eval"][key]) == 2  # one list of returns per seed
  # One unit for "beats the best expert": the values are clipped returns, so is
  # eval_return; the game score is kept beside it.
  assert result["value_unit"] == "clipped"
  assert result["eval_return"] == result["eval"]["clipped_return_mean"]
  assert result["eval_raw_return"] == result["eval"]["return_mean"]
  assert '"value_unit": "clipped"' in proc.stdout and '"eval_raw_return"' in proc.stdout


def test_partial_download_needs_and_takes_runs(tmp_path):
  # A download of run 1, checkpoints 0-2 only: the default runs 1-5 stop with the
  # flag to pass; --runs/--checkpoints read the part that is there.
  make_atari_source(tmp_path / "data", checkpoints=3)
  data = ["--source=rlu", f"--data_dir={tmp_path / 'data'}", f"--workdir={tmp_path / 'runs'}"]
  proc = run_script("experiments.atari_cql", *data, *TINY)
  assert proc.returncode == 1
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
  assert len(errors) == 1, proc.stderr[-3000:]
  assert errors[0].startswith("error: run 2 is missing (no RL Unplugged Atari files match ")
  assert errors[0].endswith("): pass --runs=1 to read only the runs you have")
  proc = run_script("experiments.atari_cql", *data, *TINY, "--runs=1", "--checkpoints=2",
                    "--num_episodes=2", timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  (result_path,) = (tmp_path / "runs").glob("*/result.json")
  result = json.loads(result_path.read_text())
  assert result["selection"]["policy_ids"] == ["Pong/run_1/ckpt_0", "Pong/run_1/ckpt_1"]
