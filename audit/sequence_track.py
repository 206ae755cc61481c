"""An aggregate's sequence as `verify` has read it so far: its highest version, that row's hash,
and the versions still missing (a late row fills its gap: it was out of order)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Gap:
    """Versions `first`..`last` of an aggregate not yet seen in the log."""

    first: int
    last: int
    position: int
    """The row after the gap: where it was noticed."""
    after: int
    """The version of that row."""


@dataclass
class Track:
    """An aggregate's sequence as read so far: its highest version, and that row's hash."""

    version: int
    hash: str | None
    position: int
    gaps: list[Gap] = field(default_factory=list)

    def fill(self, version: int) -> None:
        """A late row arrived: its version is no longer missing (it is out of order)."""
        for gap in list(self.gaps):
            if gap.first <= version <= gap.last:
                self.gaps.remove(gap)
                if gap.first < version:
                    self.gaps.append(Gap(gap.first, version - 1, gap.position, gap.after))
                if version < gap.last:
                    self.gaps.append(Gap(version + 1, gap.last, gap.position, gap.after))
