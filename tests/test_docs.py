"""The docs site builds with `mkdocs build --strict` (as CI runs it), and its API
reference covers every public module."""

from __future__ import annotations

import os
import pathlib
import pkgutil
import re
import subprocess
import sys

import offline_scaling
from conftest import REPO


def test_mkdocs_build_is_strict_clean(tmp_path):
  site = tmp_path / "site"
  proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                        cwd=REPO, capture_output=True, text=True, timeout=300,
                        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  for page in ("index.html", "concepts/index.html", "howto/add_algorithm/index.html",
               "performance/index.html", "notebooks/quickstart.ipynb"):
    assert (site / page).exists(), page
  # mkdocstrings rendered the docstrings, not just the headings.
  api = (site / "api" / "data" / "index.html").read_text()
  assert 'id="offline_scaling.data.expertise.select_policies"' in api
  assert "sub-sample P of them evenly" in api


def test_api_reference_covers_every_public_module():
  documented = set()
  for page in pathlib.Path(REPO, "docs", "api").glob("*.md"):
    documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
  modules = {m.name for m in pkgutil.walk_packages(offline_scaling.__path__, "offline_scaling.")
             if not m.ispkg and not any(p.startswith("_") for p in m.name.split("."))}
  missing = sorted(modules - documented)
  assert not missing, f"add a `::: <module>` block to a docs/api/*.md page for: {missing}"
