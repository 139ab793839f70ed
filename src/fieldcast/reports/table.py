"""The terminal's tables: rich's, with every figure and every word that fits kept whole."""

from __future__ import annotations

from typing import Any

import rich.table
from rich.console import Console, ConsoleOptions, OverflowMethod
from rich.measure import Measurement
from rich.table import Column


class Table(rich.table.Table):
    """rich's table, printed so that nothing is lost or cut at any terminal width.

    - A cell too long for its column folds onto the next line instead of being cut short with
      an ellipsis (rich's default): a figure is never half shown.
    - A table wider than the terminal is narrowed by rich from its widest columns down
      (``rich.table.Table._calculate_column_widths``), which cuts their words
      ("Replicatio|ns", "(recommende|d)") even where narrower columns have room to spare, as
      at 80 columns. Here, when every column's longest word fits, each column gets its
      longest word; then the columns whose cells lack least are widened first until their
      cells are whole (a table has many rows and one header); then what is left is shared in
      proportion to what each header lacks on one line (the automatic layout of HTML
      tables). When the longest words cannot all fit, the column with the longest is cut, as
      far as it must (then the next), and every other word stays whole ("seed-2019-as-
      executed" folds, "Replications" does not), no column narrower than eight characters
      and none that may not wrap. If even that cannot fit, rich's own. This overrides
      private methods of rich, whose version is locked; ``tests/test_reports.py`` checks the
      layout against rich's own.
    """

    def add_column(
        self,
        header: Any = "",
        footer: Any = "",
        *,
        overflow: OverflowMethod = "fold",
        **options: Any,
    ) -> None:
        super().add_column(header, footer, overflow=overflow, **options)

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        ranges = [self._measure_column(console, options, column) for column in self.columns]
        least = [measured.minimum for measured in ranges]
        most = [measured.maximum for measured in ranges]
        room = options.max_width
        if self.expand or sum(most) <= room:
            return super()._calculate_column_widths(console, options)
        if sum(least) > room:
            floors = [  # a column cut narrower than a short word reads as stacked letters
                width if column.no_wrap else min(width, self._get_padding_width(column._index) + 8)
                for width, column in zip(least, self.columns, strict=True)
            ]
            cut = _widest_cut(least, floors, room)
            return cut if cut is not None else super()._calculate_column_widths(console, options)
        rows = [  # the cells whole, the header as narrow as its longest word
            max(low, min(high, self._cells_width(console, options, column)))
            for low, high, column in zip(least, most, self.columns, strict=True)
        ]
        widths = _whole_first(least, rows, room)
        return _shared(widths, most, room)

    def _cells_width(self, console: Console, options: ConsoleOptions, column: Column) -> int:
        """The width a column's cells take on one line each, with its padding."""
        cells = [Measurement.get(console, options, cell).maximum for cell in column.cells]
        return max(cells, default=0) + self._get_padding_width(column._index)


def _widest_cut(widths: list[int], floors: list[int], room: int) -> list[int] | None:
    """``widths`` narrowed to ``room``: the widest column first, as far as it must (down to
    its floor), then the next widest, so that the fewest columns lose their longest words.
    None if the floors alone do not fit."""
    if sum(floors) > room:
        return None
    narrowed, excess = list(widths), sum(widths) - room
    for index in sorted(range(len(widths)), key=lambda i: (-widths[i], i)):
        less = min(excess, narrowed[index] - floors[index])
        narrowed[index] -= less
        excess -= less
    return narrowed


def _whole_first(widths: list[int], wanted: list[int], room: int) -> list[int]:
    """``widths`` grown towards ``wanted`` within ``room``, the columns that lack least first:
    as many columns as can be get their cells whole."""
    grown, left = list(widths), room - sum(widths)
    for index in sorted(range(len(widths)), key=lambda i: wanted[i] - widths[i]):
        more = min(max(wanted[index] - grown[index], 0), left)
        grown[index] += more
        left -= more
    return grown


def _shared(widths: list[int], wanted: list[int], room: int) -> list[int]:
    """``widths`` grown towards ``wanted`` within ``room``: all of it if it fits, else each
    column by a share of what is left in proportion to what it lacks (rounded down, the rest
    handed out from the left)."""
    lacking = [max(want - width, 0) for width, want in zip(widths, wanted, strict=True)]
    left = room - sum(widths)
    if sum(lacking) <= left:
        return [width + more for width, more in zip(widths, lacking, strict=True)]
    grown = [
        width + more * left // sum(lacking) for width, more in zip(widths, lacking, strict=True)
    ]
    for index, more in enumerate(lacking):
        if sum(grown) < room and grown[index] < widths[index] + more:
            grown[index] += 1
    return grown
