"""``pmulab record``: the demo's report and raw records."""

import argparse

from pmulab.sim import record_cli as sampling_cli
from pmulab.sim.profile import demo_profile


def args(*argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    sampling_cli.add_parser(sub)
    return p.parse_args(["record", *argv])


def test_record_prints_a_report(capsys):
    assert sampling_cli.main(args("--ticks", "20")) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Samples: ") and "memcpy" in out and "Lost" not in out


def test_record_raw_and_lost(capsys):
    sampling_cli.main(args("--ticks", "30", "-c", "5000", "--pages", "1", "--consume-every", "10", "--raw"))
    out = capsys.readouterr().out
    assert "Record(SAMPLE" in out and "Record(LOST" in out and "# Lost: " in out


def test_record_report_matches_the_true_profile():
    _, rep, _ = sampling_cli.record(event="instructions", period=5_000, ticks=40)
    truth = demo_profile().true_profile("INST_RETIRED", kernel=False)
    for name, share in truth.items():
        assert abs(rep[name].overhead / 100 - share) < 0.04
