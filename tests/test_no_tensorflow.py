"""nets, agents and the training loop import and train without TensorFlow
(accelerator images often have JAX and no TensorFlow)."""

import json
import subprocess
import sys

from conftest import REPO
from hidden_packages import hide

# Trains BC on in-memory batches; run after `hide("tensorflow")`.
_TRAIN = r"""
import json
import sys

import numpy as np

import offline_scaling.nets  # noqa: F401
from offline_scaling.agents import imitation
from offline_scaling.train import loop

sys.path.insert(0, "tests")
from memory_stream import MemoryStream  # noqa: E402


config = loop.default_config()
config.update(steps=200, batch_size=32, updates_per_call=10, log_every=10, checkpoint_every=100)
rng = np.random.default_rng(0)
batches = []
for _ in range(config.steps // config.updates_per_call):
  obs = rng.normal(size=(1, loop.stream_batch_size(config), 4)).astype(np.float32)  # [S, K·B, 4]
  batches.append(dict(obs=obs, action=(obs[..., 0] > 0).astype(np.int32)))  # a learnable rule
agent_config = imitation.default_config()
agent_config.param_count = 2_000
trainer = loop.Trainer(imitation.make_agent(4, 2, agent_config), config, sys.argv[1])
state, summary = trainer.train(MemoryStream(batches), progress=False)
losses = [json.loads(l)["loss"] for l in open(f"{sys.argv[1]}/metrics.jsonl")]
print(json.dumps(dict(steps=summary["steps"], first_loss=losses[0], last_loss=losses[-1],
                      tensorflow_loaded="tensorflow" in sys.modules)))
"""


def test_nets_agents_and_loop_train_without_tensorflow(tmp_path):
  proc = subprocess.run([sys.executable, "-c", hide("tensorflow") + _TRAIN, str(tmp_path / "run")],
                        cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.splitlines()[-1])
  assert not out["tensorflow_loaded"]
  assert out["steps"] == 200
  assert out["last_loss"] < 0.5 * out["first_loss"]
  assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["100", "200"]
  assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
