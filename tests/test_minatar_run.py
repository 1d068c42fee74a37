"""MinAtar offline runs (CQL, RCI, BC) on a replay logged by the library's own online DQN."""

import numpy as np
import pytest

pytest.importorskip("minatar")

from offline_scaling.errors import OfflineScalingError  # noqa: E402
from offline_scaling.train import minatar_run, online_dqn  # noqa: E402


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
  root = tmp_path_factory.mktemp("replay")
  c = online_dqn.default_config()
  c.frames, c.checkpoints = 1_500, 3
  c.min_replay_history = 200
  c.hidden = 16
  for run in (1, 2):
    online_dqn.train_run("breakout", run, root, c)
  return root


def _config(algo, replay):
  c = minatar_run.default_config(algo)
  c.data_dir = str(replay)
  c.num_policies = 4
  c.width_mult = 0.25
  c.hidden = 32
  c.train.steps = 20
  c.train.updates_per_call = 10
  c.train.eval_every = 20
  c.train.checkpoint_every = 20
  c.train.log_every = 10
  c.eval_episodes = 2
  c.stream.shuffle_block = 256
  if algo == "rci":
    c.conditioners = (1.0,)
  return c


def test_rci_trains_and_plays_the_real_game(replay, tmp_path):
  # CQL and BC run in the MinAtar smoke sweep (tests/study/test_minatar_sweep.py).
  result = minatar_run.run(_config("rci", replay), tmp_path, progress=False)
  assert result["domain"] == "minatar" and result["value_unit"] == "clipped"
  assert len(result["selection"]["policy_ids"]) == 4
  assert result["samples_seen"] == 20 * 32 and 0 < result["passes"] < 1
  assert np.isfinite(result["eval_return"]) and np.isfinite(result["eval_raw_return"])
  # Breakout pays +1 per brick: the clipped return is the game score.
  assert result["eval_return"] == result["eval_raw_return"]


def test_a_missing_replay_is_named_with_the_command_that_writes_it(tmp_path):
  c = minatar_run.default_config("bc")
  c.data_dir = str(tmp_path)
  with pytest.raises(OfflineScalingError, match="experiments.minatar_replay --game=breakout"):
    minatar_run.run(c, tmp_path / "runs")


def test_an_unknown_game_is_one_message():
  c = minatar_run.default_config("cql")
  c.env, c.data_dir = "pong", "/nowhere"
  with pytest.raises(OfflineScalingError, match="MinAtar"):
    minatar_run.validate(c)
