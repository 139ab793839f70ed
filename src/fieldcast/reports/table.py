"""The terminal's tables: rich's, with every figure and every word that fits kept whole."""

from __future__ import annotations

from math import prod
from typing import Any

import rich.table
from rich.console import Console, ConsoleOptions, OverflowMethod, RenderableType
from rich.table import Column
from rich.text import Text

# Combinations of column widths tried for the fewest lines (``Table._fewest_lines``): some
# tens of milliseconds of numpy at most.
_MOST_COMBINATIONS = 200_000


class Table(rich.table.Table):
    """rich's table, printed so that nothing is lost or cut at any terminal width.

    - A cell too long for its column folds onto the next line instead of being cut short with
      an ellipsis (rich's default): a figure is never half shown.
    - A table wider than the terminal is narrowed by rich from its widest columns down
      (``rich.table.Table._calculate_column_widths``), which cuts their words
      ("Replicatio|ns", "(recommende|d)") even where narrower columns have room to spare, as
      at 80 columns. Here, when every column's longest word fits, each column gets its
      longest word; then the columns are widened as little as prints the table in the fewest
      lines (``_fewest_lines``: at 80 columns the forecast's people table keeps its
      intervals whole and wraps its long row names); then what is left is shared in
      proportion to what each header lacks on one line (the automatic layout of HTML
      tables). When the longest words cannot all fit, the column with the longest is cut, as
      far as it must (then the next), and every other word stays whole
      ("seed-2019-as-executed" folds, "Replications" does not), no column narrower than
      eight characters and none that may not wrap. If even that cannot fit, rich's own.
      This overrides private methods of rich, whose version is locked;
      ``tests/test_reports.py`` checks the layout against rich's own.
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
        widths = self._fewest_lines(console, options, least, most, room)
        return _shared(widths, most, room)

    def _fewest_lines(
        self,
        console: Console,
        options: ConsoleOptions,
        least: list[int],
        most: list[int],
        room: int,
    ) -> list[int]:
        """The widths, at least ``least`` and within ``room``, that print the table in the
        fewest lines (then with the fewest cells wrapped, then the fewest lines of its cells,
        then the narrowest). Each column's widths are tried where its cells' line counts
        change (a few each), every combination of them, with numpy: a greedy choice fails
        here, as a row's height is that of its tallest cell, so that widening one column
        saves no line until its neighbours are widened too. If the combinations are too many
        (a table with many columns), the columns whose cells lack least are made whole
        first."""
        choices: list[tuple[list[int], list[list[int]]]] = []  # widths, lines of each cell
        for index, column in enumerate(self.columns):
            cells = [_as_text(console, cell) for cell in self._unpadded_cells(column)]
            padding = self._get_padding_width(index)
            top = min(most[index], room - sum(least) + least[index])
            widths: list[int] = []
            profiles: list[list[int]] = []
            for width in range(least[index], top + 1):
                lines = [
                    _lines(console, options, cell, width - padding, column.overflow)
                    for cell in cells
                ]
                if not profiles or lines != profiles[-1]:
                    widths.append(width)
                    profiles.append(lines)
            choices.append((widths, profiles))
        if prod(len(widths) for widths, _ in choices) > _MOST_COMBINATIONS:
            return _whole_first(least, [widths[-1] for widths, _ in choices], room)
        import numpy as np  # here: the command line starts without it (cli_help_seconds)

        total = np.zeros(1, dtype=np.int64)  # each combination's width so far
        wrapped = np.zeros(1, dtype=np.int64)  # and its cells on more than one line
        lines = np.zeros(1, dtype=np.int64)  # and their lines
        tallest = np.zeros((1, len(choices[0][1][0])), dtype=np.int64)  # and its rows' lines
        picked = np.zeros((1, 0), dtype=np.int64)  # and the choice of each column
        for widths, profiles in choices:
            count = len(widths)
            total = (total[:, None] + np.array(widths)[None, :]).ravel()
            wrapped = (wrapped[:, None] + (np.array(profiles) > 1).sum(axis=1)[None, :]).ravel()
            lines = (lines[:, None] + np.array(profiles).sum(axis=1)[None, :]).ravel()
            tallest = np.maximum(tallest[:, None, :], np.array(profiles)[None, :, :])
            tallest = tallest.reshape(-1, tallest.shape[-1])
            picked = np.hstack(
                [np.repeat(picked, count, axis=0), np.tile(np.arange(count), len(picked))[:, None]]
            )
            fits = total <= room
            total, wrapped, lines, tallest, picked = (
                total[fits],
                wrapped[fits],
                lines[fits],
                tallest[fits],
                picked[fits],
            )
        # the fewest lines; then the fewest cells wrapped, which keeps the figures whole where
        # the names of rows or columns wrap anyway; then the fewest lines of the cells; then
        # the narrowest
        best = np.lexsort((total, lines, wrapped, tallest.sum(axis=1)))[0]
        return [widths[choice] for (widths, _), choice in zip(choices, picked[best], strict=True)]

    def _unpadded_cells(self, column: Column) -> list[RenderableType]:
        """A column's header, cells and footer, as given (rich pads them when it prints)."""
        header = [column.header] if self.show_header else []
        footer = [column.footer] if self.show_footer else []
        return header + list(column.cells) + footer


def _as_text(console: Console, cell: RenderableType) -> RenderableType:
    """A cell given as a string, as rich prints it (its markup read): ``Text``, whose lines
    at a width are counted many times far faster than by rendering it."""
    return console.render_str(cell) if isinstance(cell, str) else cell


def _lines(
    console: Console,
    options: ConsoleOptions,
    cell: RenderableType,
    width: int,
    overflow: OverflowMethod,
) -> int:
    """How many lines ``cell`` takes at ``width`` (without padding)."""
    if isinstance(cell, Text):
        return len(cell.wrap(console, width, overflow=overflow))
    return len(console.render_lines(cell, options.update(width=width, height=None)))


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
