"""The work of the benchmark's two REFERENCES: the service's SQL through the raw driver, and its JSON.

Two thin framework layers serve these same handlers, so that they differ only in the framework:
``bench/reference.py`` (a plain ASGI callable) and ``bench/reference_fastapi.py`` (plain FastAPI routes, no
middleware, no dependencies). No ORM, validation, auth, idempotency, logging or metrics: the fastest simple form
of the same database work, so that ``service / reference`` measures what the service's layers cost, and
``service / FastAPI reference`` what they cost above FastAPI's own floor (see docs/performance.md).

* SQLite: the stdlib ``sqlite3`` driver from ``async def`` handlers. ``BENCH_REF_SQLITE_MODE=auto`` (default):
  list, get and the transition inline on the event loop with one connection (sub-millisecond queries; SQLite has
  one writer anyway), the two ledger aggregates on a small thread pool with a connection per thread
  (``BENCH_REF_THREADS``, default the CPU count) so two aggregates run at once; ``inline`` or ``threads`` for all.
* PostgreSQL: ``asyncpg`` (prepared statements, binary protocol) with a pool per worker (``BENCH_REF_POOL``,
  default 8), all handlers ``async def``.

The handlers take parsed arguments and return the response body, bytes (the shapes of the service's JSON, byte
for byte apart from key order); they raise ``Problem`` (404/409/422) or ``KeyError``/``ValueError`` (bad input),
which ``failure()`` turns into a status and a body for both layers alike:
``h_list(chain, limit, after)`` (``GET /api/v1/projects?chain=&limit=&cursor=``, ``after`` the decoded cursor),
``h_get(id)`` (``GET /api/v1/projects/{id}``), ``h_transition(id, to, on)`` (``POST
/api/v1/projects/{id}/transitions`` ``{to, on}``), ``h_summary(period)`` (``GET /api/v1/ledger/summary?period=``,
by chain), ``h_ledger(period, limit)`` (``GET /api/v1/ledger?period=&limit=``); ``HEALTHZ`` is ``GET /healthz``'s
body; ``startup()`` runs once per worker before the first request, ``shutdown()`` after the last.

The transition runs, in one transaction, every statement the service runs for it: the project read (``FOR
UPDATE`` on PostgreSQL), the project UPDATE, the ``project_transition`` INSERT, closing and opening the
``project_version`` row, locking ``audit_head``, the hash-chained ``audit_event`` INSERT, the head UPDATE and the
webhook-subscription read of the outbox, and the audit Merkle tree's nodes (a read of the left siblings the new
leaf completes, one on average, and their INSERT). Its events are valid links of the chain (``/audit/verify``
passes) and leaves of the tree.

The database is ``BENCH_REF_DATABASE_URL``, read once at import.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from hashlib import sha256
from threading import local
from zoneinfo import ZoneInfo

import orjson

URL = os.environ.get("BENCH_REF_DATABASE_URL", "sqlite:///./chain-ledger.db")
TZ = ZoneInfo(os.environ.get("LEDGER_TIMEZONE", "Asia/Shanghai"))
IS_PG = URL.startswith("postgres")
SQLITE_MODE = os.environ.get("BENCH_REF_SQLITE_MODE", "auto")
POOL = int(os.environ.get("BENCH_REF_POOL", "8"))
THREADS = int(os.environ.get("BENCH_REF_THREADS", str(os.cpu_count() or 2)))
ACTOR, ROLE = "bench-reference", "admin"
MAJOR_CENTS = 10_000 * 100
LISTS = ("signed", "started", "in_production", "at_capacity")
NEXT = {"signed": "started", "started": "in_production", "in_production": "at_capacity"}
_q = json.encoder.c_encode_basestring  # type: ignore[attr-defined]
_JSON = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


# ---------------------------------------------------------------- SQL (the service's statements)

def _p(sql: str) -> str:
    """Statements are written with ``?``; asyncpg wants ``$1, $2, …``."""
    if not IS_PG:
        return sql
    n = 0

    def number(_m: re.Match) -> str:
        nonlocal n
        n += 1
        return f"${n}"

    return re.sub(r"\?", number, sql)


PROJECT_COLS = ("name", "investor", "planned_investment", "is_key", "stage", "signed_on", "started_on",
                "in_production_on", "at_capacity_on", "cancelled_on", "cancel_reason", "voided_at", "void_reason",
                "cumulative_investment", "version", "created_at", "updated_at", "id", "external_ref", "chain",
                "district")
_SELECT = "SELECT " + ", ".join(f"project.{c}" for c in PROJECT_COLS) + " \nFROM project \n"
SQL_LIST = _p(_SELECT + "WHERE project.voided_at IS NULL AND project.chain = ? ORDER BY project.id\n LIMIT ?")
SQL_LIST_AFTER = _p(_SELECT + "WHERE project.voided_at IS NULL AND project.chain = ? AND project.id > ? "
                    "ORDER BY project.id\n LIMIT ?")
SQL_GET = _p(_SELECT + "WHERE project.id = ?")
SQL_GET_FOR_UPDATE = SQL_GET + (" FOR UPDATE" if IS_PG else "")
SQL_UPDATE = {lst: _p(f"UPDATE project SET stage=?, {lst}_on=?, version=?, updated_at=? WHERE project.id = ?")
              for lst in LISTS}
SQL_TRANSITION = _p('INSERT INTO project_transition (project_id, from_stage, to_stage, "on", note, reason, '
                    "created_at, reverted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
SQL_CLOSE_VERSION = _p("UPDATE project_version SET recorded_to=? WHERE project_version.project_id = ? "
                       "AND project_version.recorded_to IS NULL")
VERSION_COLS = ("name", "investor", "planned_investment", "is_key", "stage", "signed_on", "started_on",
                "in_production_on", "at_capacity_on", "cancelled_on", "cancel_reason", "voided_at", "void_reason",
                "cumulative_investment", "version", "created_at", "updated_at", "project_id", "external_ref", "chain",
                "district", "recorded_from", "recorded_to")
SQL_OPEN_VERSION = _p(f"INSERT INTO project_version ({', '.join(VERSION_COLS)}) "
                      f"VALUES ({', '.join('?' * len(VERSION_COLS))})")
SQL_HEAD = _p("SELECT audit_head.seq, audit_head.hash \nFROM audit_head \nWHERE audit_head.id = ?"
              + (" FOR UPDATE" if IS_PG else ""))
SQL_HEAD_UPDATE = _p("UPDATE audit_head SET seq=?, hash=? WHERE audit_head.id = ?")
SQL_EVENT = _p("INSERT INTO audit_event (seq, at, actor_name, actor_role, request_id, action, entity, entity_id, "
               "data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
SQL_TREE_NODE = _p("SELECT audit_tree_node.hash \nFROM audit_tree_node \nWHERE audit_tree_node.level = ? "
                   "AND audit_tree_node.idx = ?")
SQL_TREE_INSERT = _p("INSERT INTO audit_tree_node (level, idx, hash) VALUES (?, ?, ?)")
SQL_SUBSCRIPTIONS = ("SELECT webhook_subscription.id, webhook_subscription.events \nFROM webhook_subscription "
                     "\nWHERE webhook_subscription.deleted_at IS NULL")


def tree_nodes(index: int, event_hash: str, left_of) -> list[tuple[int, int, str]]:  # noqa: ANN001
    """The Merkle tree nodes the service stores with event ``index + 1`` (service/domain/merkle.py, RFC 9162):
    its leaf and every perfect subtree it completes; ``left_of(level, idx)`` reads a stored left sibling (hex)."""
    acc, level = sha256(b"\x00" + bytes.fromhex(event_hash)).digest(), 0
    out = [(0, index, acc.hex())]
    while (index >> level) & 1:
        acc = sha256(b"\x01" + bytes.fromhex(left_of(level, (index >> level) - 1)) + acc).digest()
        level += 1
        out.append((level, index >> level, acc.hex()))
    return out


def _aggregates() -> str:
    out = []
    for lst in LISTS:
        hit = f"(project.{lst}_on BETWEEN ? AND ?)"
        out.append(f"sum(CASE WHEN {hit} THEN 1 ELSE 0 END) AS {lst}_count")
        out.append(f"sum(CASE WHEN {hit} THEN project.planned_investment ELSE 0 END) AS {lst}_investment")
    return ", ".join(out)


_IN_PERIOD = "(" + " OR ".join(f"project.{lst}_on BETWEEN ? AND ?" for lst in LISTS) + ")"
_AGG_COLS = ", ".join(f"agg.{lst}_{what}" for lst in LISTS for what in ("count", "investment"))
SQL_SUMMARY = _p(
    f"SELECT chain.code, chain.name, {_AGG_COLS} \nFROM chain LEFT OUTER JOIN (SELECT project.chain AS code, "
    f"{_aggregates()} \nFROM project \nWHERE {_IN_PERIOD} AND project.voided_at IS NULL GROUP BY project.chain) "
    "AS agg ON agg.code = chain.code ORDER BY chain.code"
)
SQL_TOTALS = _p(f"SELECT {_aggregates()} \nFROM project \nWHERE {_IN_PERIOD} AND project.voided_at IS NULL")
SQL_ITEMS = {
    lst: _p("SELECT project.id, project.external_ref, project.name, project.chain, project.district, "
            f"project.investor, project.planned_investment, project.is_key, project.planned_investment >= {MAJOR_CENTS} "
            f"AS major, project.stage, project.{lst}_on AS \"on\" \nFROM project \n"
            f"WHERE project.{lst}_on BETWEEN ? AND ? AND project.voided_at IS NULL "
            f"ORDER BY project.{lst}_on, project.id\n LIMIT ?")
    for lst in LISTS
}


# ---------------------------------------------------------------- values → JSON

def money(cents) -> str:  # noqa: ANN001
    cents = int(cents)
    return f"{cents // 100}.{cents % 100:02d}"


if IS_PG:
    def day(value):  # noqa: ANN001, ANN202 - asyncpg gives date objects; orjson writes them ISO
        return value

    def ts(value):  # noqa: ANN001, ANN202 - aware UTC datetimes; orjson writes …Z (OPT_UTC_Z)
        return value

    def db_day(value: date):  # noqa: ANN202
        return value

    def db_ts(value: datetime):  # noqa: ANN202
        return value
else:
    def day(value):  # noqa: ANN001, ANN202 - SQLite keeps dates as ISO text
        return value

    def ts(value):  # noqa: ANN001, ANN202 - naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return None if value is None else value.replace(" ", "T") + "Z"

    def db_day(value: date) -> str:
        return value.isoformat()

    def db_ts(value: datetime) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def project_json(r) -> dict:  # noqa: ANN001
    (name, investor, planned, is_key, stage, signed_on, started_on, in_production_on, at_capacity_on, cancelled_on,
     cancel_reason, voided_at, void_reason, cumulative, version, created_at, updated_at, id_, external_ref, chain,
     district) = r
    return {
        "id": id_, "external_ref": external_ref, "name": name, "chain": chain, "district": district,
        "investor": investor, "planned_investment": money(planned), "is_key": bool(is_key),
        "major": planned >= MAJOR_CENTS, "stage": stage,
        "milestones": {"signed": day(signed_on), "started": day(started_on), "in_production": day(in_production_on),
                       "at_capacity": day(at_capacity_on)},
        "cancelled_on": day(cancelled_on), "cancel_reason": cancel_reason, "voided": voided_at is not None,
        "voided_at": ts(voided_at), "void_reason": void_reason, "cumulative_investment": money(cumulative),
        "version": version, "created_at": ts(created_at), "updated_at": ts(updated_at),
    }


def item_json(r) -> dict:  # noqa: ANN001
    id_, external_ref, name, chain, district, investor, planned, is_key, major, stage, on = r
    return {"id": id_, "external_ref": external_ref, "name": name, "chain": chain, "district": district,
            "investor": investor, "planned_investment": money(planned), "is_key": bool(is_key),
            "major": bool(major), "stage": stage, "on": day(on)}


def tallies(values) -> dict:  # noqa: ANN001 - the 8 aggregate columns (NULL when nothing matched)
    return {lst: {"count": int(values[2 * i] or 0), "investment": money(values[2 * i + 1] or 0)}
            for i, lst in enumerate(LISTS)}


def cursor(value: str) -> str:
    """A page's cursor, as the service spells it for a list ordered by id: the last row's id itself."""
    return value


def decode_cursor(text: str) -> str:
    return text


_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


def period(text: str) -> tuple[str, date, date]:
    m = _PERIOD.match(text)
    if not m:
        raise ValueError(text)
    year = int(m[1])
    if m[2]:
        q = int(m[2])
        first, last = 3 * q - 2, 3 * q
    elif m[3]:
        first = last = int(m[3])
    else:
        first, last = 1, 12
    return text, date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])


def audit_data(before: dict, after: dict) -> str:
    """Canonical JSON of the changed fields (keys sorted, no spaces, UTF-8), as the service stores it."""
    return json.dumps({"after": after, "before": before}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def link(seq: int, at: str, request_id: str, entity_id: str, data: str, prev: str) -> str:
    payload = (f'{{"action":"project.transitioned","actor":{{"name":{_q(ACTOR)},"role":{_q(ROLE)}}},"at":{_q(at)},'
               f'"data":{data},"entity":"project","entity_id":{_q(entity_id)},"prev_hash":{_q(prev)},'
               f'"request_id":{_q(request_id)},"seq":{seq}}}')
    return sha256(payload.encode()).hexdigest()


class Problem(Exception):
    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail


def check_transition(row, to: str, on: date) -> tuple[str, str]:  # noqa: ANN001
    """The stage rule and the date rule (not in the future, not before the previous milestone)."""
    stage = row[4]
    if NEXT.get(stage) != to:
        raise Problem(409, f"cannot move from {stage} to {to}")
    previous = max(str(m) for m in row[5:9] if m is not None)
    if on.isoformat() < previous or on > datetime.now(TZ).date():
        raise Problem(422, "bad date")
    return stage, to


def _version_params(row, to: str, on, version: int, now, project_id: str):  # noqa: ANN001, ANN202
    values = list(row[:17])
    values[4] = to
    values[5 + LISTS.index(to)] = on
    values[14], values[16] = version, now
    return (*values, project_id, row[18], row[19], row[20], now, None)


def _changed(row, to: str, on_text: str) -> tuple[dict, dict]:  # noqa: ANN001
    return ({"stage": row[4], f"{to}_on": None}, {"stage": to, f"{to}_on": on_text})


def _new_row(row, to: str, on, version: int, now):  # noqa: ANN001, ANN202
    values = list(row)
    values[4] = to
    values[5 + LISTS.index(to)] = on
    values[14], values[16] = version, now
    return values


# ---------------------------------------------------------------- SQLite handlers (sync, raw sqlite3)

if not IS_PG:
    import sqlite3

    _path = URL.split("sqlite:///", 1)[1]
    _local = local()

    def _conn() -> sqlite3.Connection:
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(_path, isolation_level=None, check_same_thread=False, timeout=30)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
                conn.execute(f"PRAGMA {pragma}")
            _local.conn = conn
        return conn

    def s_list(chain: str, limit: int, after: str | None) -> bytes:
        conn = _conn()
        if after is None:
            rows = conn.execute(SQL_LIST, (chain, limit + 1)).fetchall()
        else:
            rows = conn.execute(SQL_LIST_AFTER, (chain, after, limit + 1)).fetchall()
        nxt = cursor(rows[limit - 1][17]) if len(rows) > limit else None
        return orjson.dumps({"items": [project_json(r) for r in rows[:limit]], "next_cursor": nxt})

    def s_get(project_id: str) -> bytes:
        row = _conn().execute(SQL_GET, (project_id,)).fetchone()
        if row is None:
            raise Problem(404, "no such project")
        return orjson.dumps(project_json(row))

    def s_transition(project_id: str, to: str, on: date) -> bytes:
        conn = _conn()
        now = datetime.now(UTC)
        at, stamp, on_text, request_id = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), db_ts(now), on.isoformat(), uuid.uuid4().hex
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(SQL_GET_FOR_UPDATE, (project_id,)).fetchone()
            if row is None:
                raise Problem(404, "no such project")
            current, _ = check_transition(row, to, on)
            version = row[14] + 1
            conn.execute(SQL_UPDATE[to], (to, on_text, version, stamp, project_id))
            conn.execute(SQL_TRANSITION, (project_id, current, to, on_text, None, None, stamp, None))
            conn.execute(SQL_CLOSE_VERSION, (stamp, project_id))
            conn.execute(SQL_OPEN_VERSION, _version_params(row, to, on_text, version, stamp, project_id))
            seq, prev = conn.execute(SQL_HEAD, (1,)).fetchone()
            before, after = _changed(row, to, on_text)
            data = audit_data(before, after)
            digest = link(seq + 1, at, request_id, project_id, data, prev)
            conn.execute(SQL_HEAD_UPDATE, (seq + 1, digest, 1))
            conn.execute(SQL_EVENT, (seq + 1, stamp, ACTOR, ROLE, request_id, "project.transitioned", "project",
                                     project_id, data, prev, digest))
            conn.executemany(SQL_TREE_INSERT, tree_nodes(
                seq, digest, lambda lv, ix: conn.execute(SQL_TREE_NODE, (lv, ix)).fetchone()[0]))
            conn.execute(SQL_SUBSCRIPTIONS).fetchall()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return orjson.dumps(project_json(_new_row(row, to, on_text, version, stamp)))

    def s_summary(text: str) -> bytes:
        name, start, end = period(text)
        s, e = start.isoformat(), end.isoformat()
        rows = _conn().execute(SQL_SUMMARY, (s, e) * 12).fetchall()
        return orjson.dumps(_summary_body(name, start, end, rows))

    def s_ledger(text: str, limit: int) -> bytes:
        name, start, end = period(text)
        s, e = start.isoformat(), end.isoformat()
        conn = _conn()
        conn.execute("BEGIN")
        try:
            totals = tallies(conn.execute(SQL_TOTALS, (s, e) * 12).fetchone())
            lists = {}
            for lst in LISTS:
                rows = conn.execute(SQL_ITEMS[lst], (s, e, limit)).fetchall() if totals[lst]["count"] else []
                lists[lst] = {**totals[lst], "projects": [item_json(r) for r in rows],
                              "truncated": totals[lst]["count"] > limit}
        finally:
            conn.execute("COMMIT")
        return orjson.dumps({"period": name, "from": start, "to": end, "lists": lists})

    _pool = ThreadPoolExecutor(THREADS) if SQLITE_MODE in ("threads", "auto") else None

    async def call(fn, *args, heavy: bool = False):  # noqa: ANN001, ANN201
        """``inline``: on the event loop; ``threads``: on the pool; ``auto``: the aggregates (tens of ms on
        100k projects; sqlite3 releases the GIL while a query runs, so two run at once on two cores) on the
        pool, the sub-millisecond reads and the single-writer transition inline."""
        if _pool is None or (SQLITE_MODE == "auto" and not heavy):
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)

    async def startup() -> None:
        return None

    async def shutdown() -> None:
        return None

    async def h_list(chain, limit, after):  # noqa: ANN001, ANN201
        return await call(s_list, chain, limit, after)

    async def h_get(project_id):  # noqa: ANN001, ANN201
        return await call(s_get, project_id)

    async def h_transition(project_id, to, on):  # noqa: ANN001, ANN201
        return await call(s_transition, project_id, to, on)

    async def h_summary(text):  # noqa: ANN001, ANN201
        return await call(s_summary, text, heavy=True)

    async def h_ledger(text, limit):  # noqa: ANN001, ANN201
        return await call(s_ledger, text, limit, heavy=True)


def _summary_body(name: str, start: date, end: date, rows) -> dict:  # noqa: ANN001
    out_rows = []
    totals = {lst: [0, 0] for lst in LISTS}
    for r in rows:
        item = tallies(r[2:])
        for i, lst in enumerate(LISTS):
            totals[lst][0] += int(r[2 + 2 * i] or 0)
            totals[lst][1] += int(r[3 + 2 * i] or 0)
        item["chain"], item["name"] = r[0], r[1]
        out_rows.append(item)
    return {"period": name, "from": start, "to": end, "by": "chain", "rows": out_rows,
            "totals": {lst: {"count": c, "investment": money(i)} for lst, (c, i) in totals.items()}}


# ---------------------------------------------------------------- PostgreSQL handlers (asyncpg)

if IS_PG:
    import asyncpg

    _dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", URL)
    _state: dict = {}

    async def startup() -> None:
        _state["pool"] = await asyncpg.create_pool(_dsn, min_size=POOL, max_size=POOL)

    async def shutdown() -> None:
        await _state.pop("pool").close()

    async def h_list(chain, limit, after):  # noqa: ANN001, ANN201
        pool = _state["pool"]
        if after is None:
            rows = await pool.fetch(SQL_LIST, chain, limit + 1)
        else:
            rows = await pool.fetch(SQL_LIST_AFTER, chain, after, limit + 1)
        nxt = cursor(rows[limit - 1][17]) if len(rows) > limit else None
        return orjson.dumps({"items": [project_json(r) for r in rows[:limit]], "next_cursor": nxt}, option=_JSON)

    async def h_get(project_id):  # noqa: ANN001, ANN201
        row = await _state["pool"].fetchrow(SQL_GET, project_id)
        if row is None:
            raise Problem(404, "no such project")
        return orjson.dumps(project_json(row), option=_JSON)

    async def h_transition(project_id, to, on):  # noqa: ANN001, ANN201
        now = datetime.now(UTC)
        at, request_id = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), uuid.uuid4().hex
        async with _state["pool"].acquire() as conn, conn.transaction():
            row = await conn.fetchrow(SQL_GET_FOR_UPDATE, project_id)
            if row is None:
                raise Problem(404, "no such project")
            current, _ = check_transition(row, to, on)
            version = row[14] + 1
            await conn.execute(SQL_UPDATE[to], to, on, version, now, project_id)
            await conn.execute(SQL_TRANSITION, project_id, current, to, on, None, None, now, None)
            await conn.execute(SQL_CLOSE_VERSION, now, project_id)
            await conn.execute(SQL_OPEN_VERSION, *_version_params(row, to, on, version, now, project_id))
            seq, prev = await conn.fetchrow(SQL_HEAD, 1)
            before, after = _changed(row, to, on.isoformat())
            data = audit_data(before, after)
            digest = link(seq + 1, at, request_id, project_id, data, prev)
            await conn.execute(SQL_HEAD_UPDATE, seq + 1, digest, 1)
            await conn.execute(SQL_EVENT, seq + 1, now, ACTOR, ROLE, request_id, "project.transitioned", "project",
                               project_id, data, prev, digest)
            lefts = {}
            idx = seq
            for level in range(64):  # the left siblings the new leaf completes (async: read before hashing)
                if not (idx >> level) & 1:
                    break
                lefts[(level, (idx >> level) - 1)] = await conn.fetchval(SQL_TREE_NODE, level, (idx >> level) - 1)
            await conn.executemany(SQL_TREE_INSERT, tree_nodes(seq, digest, lambda lv, ix: lefts[(lv, ix)]))
            await conn.fetch(SQL_SUBSCRIPTIONS)
        return orjson.dumps(project_json(_new_row(row, to, on, version, now)), option=_JSON)

    async def h_summary(text):  # noqa: ANN001, ANN201
        name, start, end = period(text)
        rows = await _state["pool"].fetch(SQL_SUMMARY, *((start, end) * 12))
        return orjson.dumps(_summary_body(name, start, end, rows), option=_JSON)

    async def h_ledger(text, limit):  # noqa: ANN001, ANN201
        name, start, end = period(text)
        async with _state["pool"].acquire() as conn, conn.transaction(isolation="repeatable_read"):
            totals = tallies(await conn.fetchrow(SQL_TOTALS, *((start, end) * 12)))
            lists = {}
            for lst in LISTS:
                rows = await conn.fetch(SQL_ITEMS[lst], start, end, limit) if totals[lst]["count"] else []
                lists[lst] = {**totals[lst], "projects": [item_json(r) for r in rows],
                              "truncated": totals[lst]["count"] > limit}
        return orjson.dumps({"period": name, "from": start, "to": end, "lists": lists}, option=_JSON)


# ---------------------------------------------------------------- what both layers answer besides the handlers

HEALTHZ = b'{"status":"ok"}'
NOT_FOUND = b'{"detail":"not found"}'
CONTENT_TYPE = "application/json"


def failure(exc: Exception) -> tuple[int, bytes]:
    """A handler's exception as (status, body): ``Problem`` as it says, bad input (``KeyError``, ``ValueError``)
    as 422."""
    if isinstance(exc, Problem):
        return exc.status, orjson.dumps({"status": exc.status, "detail": exc.detail})
    return 422, orjson.dumps({"status": 422, "detail": repr(exc)})
