"""Test setup: CPU only, quiet TensorFlow, helpers shared by the tests."""

import os
import subprocess
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
  """Runs `python -m <module> <args>` from the repo root and captures its output."""
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=timeout)


@pytest.fixture
def script():
  return run_script
