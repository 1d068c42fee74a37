"""Launch scripts: --help works, bad flags give one line naming the flag."""

import pytest

SCRIPTS = {"experiments.pybullet_experts": "--checkpoint_every",
           "experiments.pybullet_collect": "--episodes_per_policy",
           "experiments.quickstart": "--workdir",
           "experiments.fit_scaling_laws": "--group_by",
           "experiments.sweep": "--num_tasks",
           "experiments.report": "--holdout",
           "experiments.advise": "--max_holdout_error",
           "experiments.rci_conditioning": "--[no]boundary",
           "experiments.rfi_reuse": "--reuse",
           "experiments.best_experts": "--episodes",
           "experiments.pybullet_bc": "--param_count",
           "experiments.pybullet_rfi": "--selection_rule",
           "experiments.pybullet_rci": "--conditioners",
           "experiments.pybullet_cql": "--alpha",
           "experiments.atari_cql": "--width_mult",
           "experiments.atari_rci": "--num_episodes",
           "experiments.atari_generate": "--steps_per_checkpoint",
           "experiments.minatar_replay": "--checkpoints",
           "experiments.minatar_cql": "--width_mult",
           "experiments.minatar_rci": "--conditioners",
           "experiments.minatar_bc": "--num_policies"}


@pytest.mark.parametrize("module,flag", SCRIPTS.items())
def test_help(script, module, flag):
  proc = script(module, "--help")  # absl exits 1 after printing usage
  assert "Traceback" not in proc.stderr
  assert f"python -m {module}" in proc.stdout and f"{flag}:" in proc.stdout


@pytest.mark.parametrize("module,args,expected", [
    ("experiments.pybullet_experts", ["--workdir=/tmp/x", "--env=humanoid"],
     "unknown env 'humanoid'"),
    ("experiments.pybullet_experts", ["--workdir=/tmp/x", "--total_steps=1234"],
     "--total_steps=1234 must be a positive multiple"),
    ("experiments.pybullet_experts", ["--workdir=/tmp/x", "--task_index=3", "--num_tasks=2"],
     "--task_index=3"),
    ("experiments.pybullet_collect", ["--zoo=/nonexistent/zoo", "--out=/tmp/x"],
     "expert zoo '/nonexistent/zoo' does not exist"),
    ("experiments.pybullet_collect", ["--zoo=/tmp", "--out=/tmp/x", "--episodes_per_policy=0"],
     "--episodes_per_policy=0"),
    ("experiments.pybullet_bc", ["--workdir=/tmp/x", "--data=/tmp/x", "--expertise=0"],
     "--expertise=0.0 must lie in (0, 1]"),
    ("experiments.pybullet_bc", ["--workdir=/tmp/x", "--data=/tmp/x", "--param_count=500"],
     "--param_count=500 must be at least 1,000"),
    ("experiments.pybullet_rfi", ["--workdir=/tmp/x", "--data=/tmp/x", "--conditioners=1.5"],
     "only apply to RCI"),
    ("experiments.pybullet_rci", ["--workdir=/tmp/x", "--data=/nonexistent"],
     "policy table '/nonexistent/policy_table.json' does not exist"),
    ("experiments.pybullet_cql", ["--workdir=/tmp/x", "--data=/tmp/x", "--alpha=-1"],
     "agent setting alpha=-1.0 must be a finite number >= 0"),
    ("experiments.pybullet_cql", ["--workdir=/tmp/x", "--data=/tmp/x", "--conditioners=1.5"],
     "only apply to RCI, not 'cql'"),
    ("experiments.atari_cql", ["--width_mult=5"], "--width_mult=5.0 must be one of"),
    ("experiments.atari_cql", ["--source=rlu"], "--source=rlu needs --data_dir"),
    ("experiments.atari_cql", ["--game=Tetris"], "unknown Atari game 'Tetris'"),
    ("experiments.atari_cql", ["--runs=1,9"], "--runs=1,9 must name DQN runs among 1-5"),
    ("experiments.atari_cql", ["--checkpoints=0"], "--checkpoints=0 must be >= 1"),
    ("experiments.atari_rci", ["--conditioners=a,b"], "--conditioners=a,b must be numbers"),
    ("experiments.minatar_replay", ["--workdir=/tmp/x", "--game=tetris"],
     "unknown MinAtar game 'tetris'"),
    ("experiments.minatar_replay", ["--workdir=/tmp/x", "--frames=1001"],
     "--frames=1001 must be a multiple of --checkpoints=50"),
    ("experiments.minatar_cql", [], "--data_dir is needed"),
    ("experiments.minatar_bc", ["--data_dir=/nonexistent"],
     "python -m experiments.minatar_replay --game=breakout --workdir=/nonexistent"),
    ("experiments.minatar_rci", ["--data_dir=/x", "--width_mult=0"],
     "MinAtar CNN width_mult=0.0 must be a number"),
    ("experiments.sweep", ["--workdir=/tmp/x", "--sweep=paper"], "--sweep='paper' is not one of"),
    ("experiments.sweep", ["--workdir=/tmp/x", "--set=run.train.stepz=3"],
     "run.train.stepz is not a field of sweep smoke"),
    ("experiments.sweep", ["--workdir=/tmp/x", "--num_tasks=2"],
     "run --stage=experts, then --stage=collect, then --stage=train"),
    ("experiments.sweep", ["--workdir=/nonexistent/sweep", "--stage=train"],
     "/nonexistent/sweep/episodes/policy_table.json does not exist: run the data stages"),
    ("experiments.sweep", ["--workdir=/tmp/x", "--set=sizes=(10, 2000)"],
     "must be >= 1,000 parameters"),
    ("experiments.report", ["--workdir=/nonexistent/sweep"], "no sweep has run in"),
    ("experiments.rci_conditioning", ["--workdir=/nonexistent/sweep"],
     "no finished PyBullet RCI run of this sweep under /nonexistent/sweep/runs"),
    ("experiments.rci_conditioning", ["--workdir=/tmp/x", "--conditioners=0.5,high"],
     "--conditioners=0.5,high: could not convert string to float: 'high'"),
    ("experiments.rci_conditioning", ["--workdir=/tmp/x", "--compare=return_code_periods"],
     "--compare=return_code_periods must read FIELD=VALUE"),
    ("experiments.rfi_reuse", ["--workdir=/nonexistent/sweep"],
     "policy table '/nonexistent/sweep/episodes/policy_table.json' does not exist"),
    ("experiments.rfi_reuse", ["--workdir=/tmp/x", "--param_count=7"],
     "sweep pybullet_repro has no RFI point at env=hopper, expertise=1.0, param_count=7"),
    ("experiments.advise", ["--results=/nonexistent/sweep"],
     "/nonexistent/sweep holds neither a sweep's runs/ directory nor a results.csv"),
])
def test_bad_input_is_one_line(script, module, args, expected):
  proc = script(module, *args)
  assert proc.returncode == 1
  assert "Traceback" not in proc.stderr
  errors = [l for l in proc.stderr.splitlines() if l.startswith("error: ")]
  assert len(errors) == 1 and expected in errors[0], proc.stderr[-2000:]


@pytest.mark.parametrize("setting,dry_run,expected", [
    ("expertise=(1.5,)", False, "--set expertise=(1.5,): --expertise=1.5 must lie in (0, 1]"),
    ("run.train.steps=-5", True, "--set run.train.steps=-5: steps=-5 must be an integer >= 1"),
])
def test_a_sweep_with_a_bad_run_setting_stops_before_any_stage(script, tmp_path, setting,
                                                               dry_run, expected):
  proc = script("experiments.sweep", "--sweep=smoke", f"--workdir={tmp_path}",
                "--set=sizes=(1000, 2000)", f"--set={setting}", *(["--dry_run"] * dry_run))
  assert proc.returncode == 1 and "Traceback" not in proc.stderr
  assert [l for l in proc.stderr.splitlines() if l.startswith("error: ")] == [f"error: {expected}"]
  assert "todo" not in proc.stdout and not (tmp_path / "zoo").exists()
