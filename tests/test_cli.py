"""The pmulab command: subcommand registry, the run demo, the lab command line."""

from __future__ import annotations

import json

import pytest

from pmulab import cli


def test_run_prints_a_readable_trace_and_agreeing_reads(capsys):
    assert cli.main(["run", "--ticks", "3"]) == 0
    out = capsys.readouterr().out
    assert "opened INST_RETIRED" in out and "tick    3" in out
    assert "switch" in out and "mmap" in out
    user = [ln for ln in out.splitlines() if ln.startswith("user-space read")][0]
    assert user.endswith(": 2400")  # 3 ticks x 800 EL0 instructions
    assert "value=2400" in out.split("read() syscall:")[1] or "2400" in out.split("read() syscall:")[1]


def test_run_json_is_the_trace(capsys):
    assert cli.main(["run", "--ticks", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ticks"]["tick"] == [1, 2] and "switch" in doc["actions"]["kind"]


def test_run_with_user_access_off_falls_back(capsys):
    assert cli.main(["run", "--ticks", "1", "--user-access", "0"]) == 0
    assert "fell back" in capsys.readouterr().out


def test_run_bad_design(capsys):
    assert cli.main(["run", "--design", "nope"]) == 1
    assert "unknown design" in capsys.readouterr().err


def test_lab_dry_run_matches_make_lab(capsys, tmp_path):
    assert cli.main(["lab", "--dry-run", "--port", "9999", "--notebooks", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for flag in ("lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port=9999",
                 f"--ServerApp.root_dir={tmp_path}"):
        assert flag in out.split()


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "run" in capsys.readouterr().out


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        cli.main(["nope"])


def test_commands_registry_is_extensible():
    assert set(cli.COMMANDS) >= {"run", "lab"}
    parser = cli.build_parser()
    assert parser.parse_args(["run", "--ticks", "7"]).ticks == 7
