"""A project's fields, each declared once (ARCHITECTURE: "one definition per field").

Everything that lists a project's fields derives from ``FIELDS``: the ``project`` and ``project_version``
columns (service/db/tables.py), the create/update/read schemas and the JSON document (service/schemas/projects.py),
the audit snapshot and its diff (service/usecases/projects.py), the ledger's export columns with their zh-CN
headers, the import's column map and the web's field labels. Adding an attribute to a project is: a ``Field``
here, an Alembic migration, and tests.

What a field is, in the words of the policy: ``zh`` is the label of the forms, tables and export headers (the
glossary's), ``en`` its English twin. ``editable`` says who sets it: ``CREATE`` only on creation (the chain never
changes), ``ALWAYS`` on creation and by ``PATCH``; ``SYSTEM`` fields change only through the project's lifecycle
(transitions, revert, void, dispatch figures). A field ``derived`` from another has no column: the document and the
ledger compute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a field holds: the schemas and the columns pick their types from it."""

    ID = "id"  # the project's own id (a ULID)
    NAME = "name"  # one line of text, up to 200 characters
    REF = "ref"  # one line of text, up to 100 characters
    CODE = "code"  # a code of reference data (chain, district)
    AMOUNT = "amount"  # 万元, two decimals
    FLAG = "flag"  # yes/no
    STAGE = "stage"  # service.domain.stages.Stage
    DATE = "date"  # a business date
    TEXT = "text"  # free text, several lines
    TIMESTAMP = "timestamp"  # a moment of the ledger's own clock (UTC)
    COUNT = "count"  # an integer


class Editable(StrEnum):
    CREATE = "create"  # set on creation only
    ALWAYS = "always"  # set on creation and changed by PATCH
    SYSTEM = "system"  # changed by the project's lifecycle only
    NEVER = "never"  # bookkeeping: id, version, timestamps


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    zh: str
    en: str
    editable: Editable = Editable.SYSTEM
    #: Required on creation (ALWAYS/CREATE fields); a column is NOT NULL when required or non-nullable.
    required: bool = False
    nullable: bool = True
    #: Only for CODE fields: the reference table the code names.
    references: str | None = None
    #: Unique among projects (the promotion office's own id).
    unique: bool = False
    #: The field a derived one is computed from (no column of its own).
    derived_from: str | None = None
    #: The milestone dates are grouped as ``milestones`` in the JSON document.
    milestone: bool = False
    #: Also read from these import headers (besides ``zh``, ``en`` and ``name``).
    aliases: tuple[str, ...] = ()
    #: Carried by every ledger export row.
    exported: bool = True
    description: str = ""

    @property
    def stored(self) -> bool:
        return self.derived_from is None

    @property
    def settable(self) -> bool:
        """Accepted by ``POST /projects``."""
        return self.editable in (Editable.CREATE, Editable.ALWAYS)

    @property
    def patchable(self) -> bool:
        """Accepted by ``PATCH /projects/{id}``."""
        return self.editable is Editable.ALWAYS

    @property
    def audited(self) -> bool:
        """In the audit snapshot: every stored field but the bookkeeping ones (which every change bumps)."""
        return self.stored and self.editable is not Editable.NEVER


#: Every field of a project, in the order of its JSON document (``ProjectRead``) and of its export columns.
FIELDS: tuple[Field, ...] = (
    Field("id", Kind.ID, "项目编号", "Project id", Editable.NEVER, nullable=False, aliases=("project_id",)),
    Field("external_ref", Kind.REF, "外部编号", "External ref", Editable.ALWAYS, unique=True,
          aliases=("外部项目编号",), description="The promotion office's own id; unique."),
    Field("name", Kind.NAME, "项目名称", "Project name", Editable.ALWAYS, required=True, nullable=False),
    Field("chain", Kind.CODE, "产业链", "Chain", Editable.CREATE, required=True, nullable=False, references="chain"),
    Field("district", Kind.CODE, "区", "District", Editable.ALWAYS, required=True, nullable=False,
          references="district", aliases=("所在区", "区县")),
    Field("investor", Kind.NAME, "投资方", "Investor", Editable.ALWAYS, required=True, nullable=False),
    Field("planned_investment", Kind.AMOUNT, "计划投资(万元)", "Planned investment (万元)", Editable.ALWAYS,
          required=True, nullable=False, aliases=("计划投资",)),
    Field("is_key", Kind.FLAG, "重点项目", "Key project", Editable.ALWAYS, nullable=False,
          description="A key project (重点项目)."),
    Field("major", Kind.FLAG, "重大项目", "Major project", derived_from="planned_investment",
          description="Planned investment ≥ 10,000 万元 (1 亿元)."),
    Field("stage", Kind.STAGE, "阶段", "Stage", nullable=False),
    Field("signed_on", Kind.DATE, "签约日期", "Signed on", milestone=True),
    Field("started_on", Kind.DATE, "开工日期", "Started on", milestone=True),
    Field("in_production_on", Kind.DATE, "投产日期", "In production on", milestone=True),
    Field("at_capacity_on", Kind.DATE, "达产日期", "At capacity on", milestone=True),
    Field("cancelled_on", Kind.DATE, "终止日期", "Cancelled on"),
    Field("cancel_reason", Kind.TEXT, "终止原因", "Cancellation reason", exported=False),
    Field("voided", Kind.FLAG, "已作废", "Voided", derived_from="voided_at", exported=False),
    Field("voided_at", Kind.TIMESTAMP, "作废时间", "Voided at", exported=False),
    Field("void_reason", Kind.TEXT, "作废原因", "Void reason", exported=False),
    Field("cumulative_investment", Kind.AMOUNT, "累计完成投资(万元)", "Cumulative investment (万元)", nullable=False,
          exported=False, description="The sum of the project's submitted monthly dispatch figures."),
    Field("version", Kind.COUNT, "版本", "Version", Editable.NEVER, nullable=False, exported=False),
    Field("created_at", Kind.TIMESTAMP, "创建时间", "Created at", Editable.NEVER, nullable=False, exported=False),
    Field("updated_at", Kind.TIMESTAMP, "更新时间", "Updated at", Editable.NEVER, nullable=False, exported=False),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

#: The fields a ``POST /projects`` sets besides its stage and milestones, and those a ``PATCH`` may change.
SETTABLE: tuple[Field, ...] = tuple(f for f in FIELDS if f.settable)
PATCHABLE: tuple[Field, ...] = tuple(f for f in FIELDS if f.patchable)
#: The stored fields of the audit snapshot: a change to any of them is a new version and an audit event.
AUDITED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.audited)
#: The columns of a ledger export row (CSV/XLSX), in order: every exported field, the list's own date (``on``,
#: 日期) right after the stage.
EXPORTED: tuple[Field, ...] = tuple(f for f in FIELDS if f.exported)
#: A ledger item of the JSON ledger: the exported fields but the dates (the item has its list's date, ``on``).
ITEM: tuple[Field, ...] = tuple(f for f in EXPORTED if f.kind is not Kind.DATE)
#: The milestone date of each of the four lists, in list order.
MILESTONES: tuple[Field, ...] = tuple(f for f in FIELDS if f.milestone)


def milestone_field(list_name: str) -> str:
    """The column of a list's milestone date: ``signed`` → ``signed_on``."""
    return f"{list_name}_on"
