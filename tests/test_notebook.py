"""docs/notebooks/quickstart.ipynb runs top to bottom (nbclient) at its smallest settings."""

from __future__ import annotations

import json
import os
import sys

import nbformat
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK = os.path.join(REPO, "docs", "notebooks", "quickstart.ipynb")
KERNEL = "offline-scaling-test"


def kernel_spec_dir(root) -> str:
  """A Jupyter data dir holding one kernelspec that runs this interpreter: the test
  needs no user-installed kernel (a fresh CI machine has none)."""
  spec = root / "kernels" / KERNEL
  spec.mkdir(parents=True)
  (spec / "kernel.json").write_text(json.dumps({
      "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
      "display_name": "offline_scaling test", "language": "python"}))
  return str(root)


def test_notebook_is_stored_without_outputs():
  nb = nbformat.read(NOTEBOOK, as_version=4)
  code = [c for c in nb.cells if c.cell_type == "code"]
  assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
  nb = nbformat.read(NOTEBOOK, as_version=4)
  params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
  assert len(params) == 1 and "SMALL = False" in nb.cells[params[0]].source
  # papermill's convention: the injected cell follows the one tagged `parameters`.
  nb.cells.insert(params[0] + 1, nbformat.v4.new_code_cell(
      f"SMALL = True\nWORKDIR = {str(tmp_path / 'work')!r}"))

  monkeypatch.setenv("JUPYTER_PATH", kernel_spec_dir(tmp_path / "jupyter"))
  monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
  monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
  # The kernel imports this checkout, whatever is installed.
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [REPO, os.environ.get(
      "PYTHONPATH")])))
  NotebookClient(nb, timeout=120, kernel_name=KERNEL,
                 resources={"metadata": {"path": str(tmp_path)}}).execute()

  text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
  assert "hopper/seed_0/4000" in text                     # the zoo's last expert was collected
  assert "value:" in text and "rank :" in text            # both selection rules
  assert text.count("held-out RMSLE") == 2                # one BNSL per model size
  figures = [o for o in nb.cells[-2].outputs if "image/png" in o.get("data", {})]
  assert len(figures) == 1
  results = list((tmp_path / "work" / "bc").glob("*/result.json"))
  assert sorted(json.loads(p.read_text())["param_count"] for p in results) == [2_000, 9_992]
