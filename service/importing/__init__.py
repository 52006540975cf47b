"""Reading the spreadsheets of the project import (SPEC §7): ``.xlsx`` and ``.csv``, zh-CN or English headers,
as streams, within explicit limits.

How it is read (bounded work, SPEC §7): nothing is ever held whole but the upload itself and the rows it
describes, and every count of ``Limits`` is checked as the file streams by. The modules, in the order a file
meets them:

- ``reader``: ``parse`` and ``file_digest``; the kind of file comes from its bytes, not its name.
- ``csvfile``: CSV text, its encoding and delimiter, decoded incrementally.
- ``xlsx``: the XLSX archive and the workbook read from it, by a streaming reader of its own over ``zipfile``
  and expat; ``parts``: the bounded XML stream every part is read with, and the parts of the workbook's index;
  ``worksheet``: a sheet's rows and their cell values.
- ``tables``: the columns a file may have, the header row, the layout (project sheet or ledger export), and what
  is kept of each row (``ParsedFile``, ``SourceRow``).
- ``limits``: ``Limits``, the counts against them, and the problems a file is refused with.
- ``cells``: a cell's value as the value of a field (``as_date``, ``as_amount`` …), for the import use case.

The names below are the reader's interface; the modules' ``_private`` names are shared within this package only.
"""

from __future__ import annotations

from service.importing.cells import NO, YES, as_amount, as_bool, as_date, as_list, as_stage, as_text
from service.importing.limits import FileRejected, LimitExceeded, Limits, MiB, NotASpreadsheet, problem
from service.importing.reader import Source, file_digest, parse
from service.importing.tables import (
    ATTRIBUTES,
    COLUMNS,
    HEADER_SEARCH_ROWS,
    LEDGER,
    LIST_LABELS,
    MILESTONE_COLUMNS,
    REQUIRED,
    STAGE_LABELS,
    TEMPLATE,
    ParsedFile,
    SourceRow,
    normalise_header,
)

__all__ = [
    "ATTRIBUTES",
    "COLUMNS",
    "HEADER_SEARCH_ROWS",
    "LEDGER",
    "LIST_LABELS",
    "MILESTONE_COLUMNS",
    "NO",
    "REQUIRED",
    "STAGE_LABELS",
    "TEMPLATE",
    "YES",
    "FileRejected",
    "LimitExceeded",
    "Limits",
    "MiB",
    "NotASpreadsheet",
    "ParsedFile",
    "Source",
    "SourceRow",
    "as_amount",
    "as_bool",
    "as_date",
    "as_list",
    "as_stage",
    "as_text",
    "file_digest",
    "normalise_header",
    "parse",
    "problem",
]
