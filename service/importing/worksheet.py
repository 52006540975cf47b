"""XLSX: a worksheet, read as a stream of rows, each handed to its table as soon as it ends.

A cell's value is read by its type and style: shared and inline strings, numbers, booleans, Excel errors,
formulas (refused later, by the table) and dates — ISO dates, and numbers whose cell format shows a date,
counted from the workbook's epoch (1900 or 1904).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from service.importing.limits import NotASpreadsheet, _Budget
from service.importing.parts import _names, _Part, _Stop
from service.importing.tables import _Table


def _column_letters(letters: str) -> int:
    index = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            return -1
        index = index * 26 + ord(ch) - 64
    return index - 1


#: Column letters → index for the columns a row may use (others are computed).
_COLUMN_INDEX = {}
for _i in range(1, 26 ** 2 + 27):
    _letters, _n = "", _i
    while _n:
        _n, _r = divmod(_n - 1, 26)
        _letters = chr(65 + _r) + _letters
    _COLUMN_INDEX[_letters] = _i - 1


class _SheetPart(_Part):
    """A worksheet's rows, each handed to its ``_Table`` as soon as it ends; the part stops at ``</sheetData>``
    (or when the table needs no more rows)."""

    STARTS = _names(row="row", c="c", v="v", f="f", t="t", rPh="phonetic")
    STARTS.update(_names(**{"is": "inline_start"}))
    ENDS = _names(row="row_end", c="c_end", v="v_end", t="t_end", rPh="phonetic_end", sheetData="stop")
    ENDS.update(_names(**{"is": "inline_end"}))

    def __init__(self, budget: _Budget, name: str, table: _Table, strings: list[str], date_styles: frozenset[int],
                 epoch: datetime):
        super().__init__(budget, name)
        self.table, self.strings, self.date_styles, self.epoch = table, strings, date_styles, epoch
        self.width = budget.limits.columns
        self.row_number = 0
        self.cells: dict[int, tuple[Any, str]] = {}
        self.col = -1
        self.in_cell = False
        self.kind: str | None = None
        self.style: str | None = None
        self.raw: str | None = None
        self.formula = False
        self.runs: list[str] | None = None  # the text runs of an inline string
        self.in_phonetic = 0

    def row(self, attrs: dict[str, str]) -> None:
        r = attrs.get("r")
        try:
            self.row_number = int(r) if r else self.row_number + 1
        except ValueError as exc:
            raise NotASpreadsheet(f"The XLSX workbook is damaged: {self.name} has a row numbered {r[:20]!r}.") \
                from exc
        self.cells, self.col = {}, -1

    def c(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref:
            letters = ref.rstrip("0123456789")
            col = _COLUMN_INDEX.get(letters)
            self.col = col if col is not None else _column_letters(letters)
        else:
            self.col += 1
        self.in_cell = True
        self.kind, self.style = attrs.get("t"), attrs.get("s")
        self.raw, self.formula, self.runs = None, False, None

    def v(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.buffer, self.buffered = [], 0

    def v_end(self) -> None:
        if self.in_cell and self.buffer is not None:
            self.raw = self.take()

    def f(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.formula = True

    def inline_start(self, attrs: dict[str, str]) -> None:
        if self.in_cell:
            self.runs, self.buffered = [], 0

    def inline_end(self) -> None:
        self.buffer = None

    def t(self, attrs: dict[str, str]) -> None:
        if self.runs is not None and not self.in_phonetic:
            self.buffer = self.runs

    def t_end(self) -> None:
        if self.runs is not None:
            self.buffer = None

    def phonetic(self, attrs: dict[str, str]) -> None:
        self.in_phonetic += 1

    def phonetic_end(self) -> None:
        self.in_phonetic -= 1

    def c_end(self) -> None:
        if not self.in_cell:
            return
        self.in_cell = False
        self.buffer = None
        if self.raw is None and self.runs is None and not self.formula:
            return  # an empty (styled) cell
        value, data_type = self._value()
        if value is None or (data_type == "s" and not value.strip()):
            return
        if not 0 <= self.col < self.width:
            raise self.budget.over("columns", row=self.row_number, sheet=self.table.sheet)
        self.cells[self.col] = (value, data_type)

    def row_end(self) -> None:
        cells = self.cells
        row = [cells.get(i, (None, "n")) for i in range(max(cells) + 1)] if cells else []
        self.cells = {}
        if not self.table.add(self.row_number, row):
            raise _Stop

    def stop(self) -> None:
        raise _Stop  # merged cells, formatting, drawings …: nothing after the data is needed

    def _value(self) -> tuple[Any, str]:
        """The cell's value and its kind: ``f`` formula, ``e`` Excel error, ``s`` text, ``n`` number, ``d`` date,
        ``b`` boolean."""
        kind, raw = self.kind, self.raw
        if self.formula:
            return "=" + (raw or ""), "f"
        if kind == "inlineStr":
            return "".join(self.runs or ()), "s"
        if raw is None or raw == "":
            return None, "n"
        if kind == "s":
            try:
                return self.strings[int(raw)], "s"
            except (ValueError, IndexError) as exc:
                raise NotASpreadsheet(f"The XLSX workbook is damaged: a cell of {self.name} refers to shared "
                                      f"string {raw[:20]!r}, which does not exist.") from exc
        if kind == "str":
            return raw, "s"
        if kind == "b":
            return raw.strip() in ("1", "true"), "b"
        if kind == "e":
            return raw, "e"
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip().removesuffix("Z")), "d"
            except ValueError:
                return raw, "s"
        try:
            number: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw, "s"
        style = self.style
        if style is not None and style.isdigit() and int(style) in self.date_styles:
            try:
                return self.epoch + timedelta(milliseconds=round(float(number) * 86_400_000)), "d"
            except (OverflowError, ValueError):
                return number, "n"
        return number, "n"
