"""Atari CQL and RCI end to end on a tiny locally generated dataset (real ALE games)."""

import json

import pytest

from conftest import run_script

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
