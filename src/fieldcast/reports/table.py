"""The terminal's tables: rich's, with every figure and every word that fits kept whole."""

from __future__ import annotations

from typing import Any

import rich.table
from rich.console import Console, ConsoleOptions, OverflowMethod


class Table(rich.table.Table):
    """rich's table, printed so that nothing is lost or cut at any terminal width.

    - A cell too long for its column folds onto the next line instead of being cut short with
      an ellipsis (rich's default): a figure is never half shown.
    - A table wider than the terminal is narrowed by rich from its widest columns down
      (``rich.table.Table._calculate_column_widths``), which cuts their words
      ("Replicatio|ns", "(recommende|d)") even where narrower columns have room to spare, as
      at 80 columns. Here, when every column's longest word fits, each column gets its
      longest word and a share of the rest in proportion to how much more its text would
      take (the automatic layout of HTML tables); otherwise rich's own. This overrides a
      private method of rich, whose version is locked; ``tests/test_reports.py`` checks the
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
        least = sum(measured.minimum for measured in ranges)
        most = sum(measured.maximum for measured in ranges)
        room = options.max_width
        if self.expand or most <= room or least > room:
            return super()._calculate_column_widths(console, options)
        share = (room - least) / (most - least)
        widths = [m.minimum + int(share * (m.maximum - m.minimum)) for m in ranges]
        for index, measured in enumerate(ranges):  # what rounding down left, left to right
            if sum(widths) < room and widths[index] < measured.maximum:
                widths[index] += 1
        return widths
