"""ARMv8 PMUv3 as the Arm ARM defines it: registers, events, counters, EL0 access rules.

Knows nothing of Linux.
"""

from pmulab.hw.counters import CounterBank
from pmulab.hw.counters_ref import CounterBankRef
from pmulab.hw.cpu import Cpu

__all__ = ["CounterBank", "CounterBankRef", "Cpu"]
