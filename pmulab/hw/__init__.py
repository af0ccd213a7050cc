"""ARMv8 PMUv3 as the Arm ARM defines it: registers, events, counters, EL0 access rules.

Knows nothing of Linux.
"""
