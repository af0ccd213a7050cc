"""Hypothesis stateful: random periods, buffer sizes, consumer speeds and schedules keep the
ring-buffer invariants (whole records between tail and head, LOST == dropped, PERIOD sums)."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pmulab.uapi import PerfRecord
from pmulab.user import RingReader, parse_records

from .helpers import setup, workload


def peek(page, size) -> bytes:
    head, tail = int(page.data_head), int(page.data_tail)
    data = bytes(page.data)
    start, n = tail % size, head - tail
    return (data[start:] + data[:start])[:n]


class Ring(RuleBasedStateMachine):
    @initialize(period=st.integers(600, 200_000), n=st.integers(0, 4), rate=st.integers(10_000, 150_000),
                seed=st.integers(0, 3))
    def start(self, period, n, rate, seed):
        self.m, self.t, self.attr, self.fd, self.page = setup(period=period, pages=1 + 2 ** n, rate=rate, seed=seed)
        self.other = self.m.spawn("U", cpu=0, workload=workload(rate // 2))
        self.reader = RingReader(self.t, self.page, self.attr)
        self.period = period
        self.samples = self.lost = 0
        self.period_sum = 0

    def _take(self, records):
        for r in records:
            if r.type == PerfRecord.SAMPLE:
                self.samples += 1
                self.period_sum += r.period
                assert r.period == self.period
            elif r.type == PerfRecord.LOST:
                self.lost += r.lost

    @rule(ticks=st.integers(1, 4))
    def run(self, ticks):
        self.m.run(ticks)

    @rule(k=st.integers(1, 40))
    def consume_some(self, k):
        self._take(self.reader.read(max_records=k))

    @rule()
    def consume_all(self):
        self._take(self.reader.read())

    @rule(cpu=st.integers(0, 1))
    def migrate(self, cpu):
        self.m.migrate(self.t, cpu)

    @rule()
    def switch_other_in(self):
        if self.other.cpu == self.t.cpu:
            self.m.switch_to(self.t.cpu, self.other)

    @invariant()
    def whole_records_between_tail_and_head(self):
        size = int(self.page.data_size)
        pending = peek(self.page, size)
        assert len(pending) <= size - 8
        parse_records(pending, self.attr)

    @invariant()
    def lost_counts_match_drops_and_periods_add_up(self):
        ev = self.t.fds[self.fd]
        rb = ev.rb
        pending = parse_records(peek(self.page, int(self.page.data_size)), self.attr)
        in_ring = [r for r in pending if r.type == PerfRecord.SAMPLE]
        lost_in_ring = sum(r.lost for r in pending if r.type == PerfRecord.LOST)
        assert self.lost + lost_in_ring + rb.lost == rb.dropped == ev.lost_samples
        written = self.period_sum + sum(r.period for r in in_ring)
        self.m.perf.perf_event_read(ev)
        left = ev.hw.period_left
        left = left - (1 << 64) if left >> 63 else left
        assert written + rb.dropped * self.period + (self.period - left) == ev.count


Ring.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestRing = Ring.TestCase
