"""Declare register layouts once: fields, access kinds, reset values, encode and decode.

Models: bit fields of a system register with an access kind per field (read/write,
read-only, write-only, write-1-to-set, write-1-to-clear) and a reset value. Every
mask that code needs is derived from the declaration, never restated.
Omits: anything PMU-specific (that lives in ``pmulab.hw.sysregs``).
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["Access", "Field", "Register", "close_names", "mask"]


def mask(width: int) -> int:
    """Return the all-ones value of ``width`` bits."""
    return (1 << width) - 1


def close_names(name: str, names) -> str:
    """Format a "did you mean" hint for an unknown ``name`` among ``names``."""
    near = difflib.get_close_matches(name, list(names), n=4, cutoff=0.5)
    return f"; did you mean {', '.join(near)}?" if near else ""


class Access(enum.Enum):
    """How software sees a field (Arm ARM access-type terms)."""

    RW = "RW"
    RO = "RO"  # writes ignored
    WO = "WO"  # reads as zero; writing 1 triggers an action
    W1S = "W1S"  # write 1 to set, reads the state
    W1C = "W1C"  # write 1 to clear, reads the state


@dataclass(frozen=True)
class Field:
    """One bit field: ``width`` bits from ``lsb``; ``reset`` is its value after reset."""

    name: str
    lsb: int
    width: int = 1
    access: Access = Access.RW
    reset: int = 0
    doc: str = ""

    def __post_init__(self):
        if self.width < 1 or self.lsb < 0 or self.lsb + self.width > 64:
            raise ValueError(f"field {self.name}: bits [{self.lsb + self.width - 1}:{self.lsb}] out of 0..63")
        if not 0 <= self.reset <= mask(self.width):
            raise ValueError(f"field {self.name}: reset {self.reset:#x} wider than {self.width} bits")

    @cached_property
    def mask(self) -> int:
        """The field's bits in place."""
        return mask(self.width) << self.lsb

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    def get(self, value: int) -> int:
        """Extract this field from a register value."""
        return (value >> self.lsb) & mask(self.width)

    def put(self, value: int, field_value: int) -> int:
        """Return ``value`` with this field replaced by ``field_value``."""
        if not 0 <= field_value <= mask(self.width):
            raise ValueError(f"{self.name}={field_value:#x} does not fit in {self.width} bits")
        return (value & ~self.mask) | (field_value << self.lsb)


@dataclass(frozen=True)
class Register:
    """A register declared once.

    ``state`` names the storage the register views (SET/CLR pairs share one: e.g.
    PMCNTENSET_EL0 and PMCNTENCLR_EL0 both view ``PMCNTEN``); it defaults to the
    register's own name. Bits outside every field are RES0.
    """

    name: str
    fields: tuple[Field, ...]
    width: int = 64
    state: str = ""
    doc: str = ""
    by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        seen = 0
        for f in self.fields:
            if f.mask & seen:
                raise ValueError(f"{self.name}: field {f.name} overlaps another field")
            if f.msb >= self.width:
                raise ValueError(f"{self.name}: field {f.name} beyond bit {self.width - 1}")
            seen |= f.mask
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        if not self.state:
            object.__setattr__(self, "state", self.name)

    def __getitem__(self, name: str) -> Field:
        try:
            return self.by_name[name]
        except KeyError:
            raise ValueError(f"{self.name} has no field {name!r}{close_names(name, self.by_name)}") from None

    def _mask_of(self, *kinds: Access) -> int:
        return sum(f.mask for f in self.fields if f.access in kinds)

    @cached_property
    def valid_mask(self) -> int:
        """Every implemented bit."""
        return self._mask_of(*Access)

    @cached_property
    def readable_mask(self) -> int:
        """Bits that read back their state (write-only bits read as zero)."""
        return self._mask_of(Access.RW, Access.RO, Access.W1S, Access.W1C)

    @cached_property
    def writable_mask(self) -> int:
        """Bits whose state a plain write replaces."""
        return self._mask_of(Access.RW)

    @cached_property
    def set_mask(self) -> int:
        return self._mask_of(Access.W1S)

    @cached_property
    def clear_mask(self) -> int:
        return self._mask_of(Access.W1C)

    @cached_property
    def action_mask(self) -> int:
        """Write-only bits: writing 1 triggers an action, the bit itself is not stored."""
        return self._mask_of(Access.WO)

    @cached_property
    def reset(self) -> int:
        return sum(f.reset << f.lsb for f in self.fields)

    @cached_property
    def read_only(self) -> bool:
        return all(f.access is Access.RO for f in self.fields)

    def decode(self, value: int) -> dict[str, int]:
        """Split a value into ``{field name: field value}``."""
        return {f.name: f.get(value) for f in self.fields}

    def encode(self, **values: int) -> int:
        """Build a value from field values; unnamed fields are zero."""
        out = 0
        for name, v in values.items():
            out = self[name].put(out, v)
        return out

    def check(self, value: int) -> int:
        """Validate a value written to this register (ValueError if it cannot be)."""
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{self.name}: value must be an int, not {type(value).__name__}")
        if not 0 <= value <= mask(self.width):
            raise ValueError(f"{self.name}: value {value:#x} out of range for a {self.width}-bit register")
        return value

    def apply_write(self, old: int, value: int) -> int:
        """Return the new stored state after writing ``value`` over ``old``.

        RW bits take the written value, W1S bits set where 1 is written, W1C bits clear
        where 1 is written; RO bits, write-only action bits and RES0 bits keep ``old``.
        """
        self.check(value)
        new = (old & ~self.writable_mask) | (value & self.writable_mask)
        new |= value & self.set_mask
        new &= ~(value & self.clear_mask)
        return new
