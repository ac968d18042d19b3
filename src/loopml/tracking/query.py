"""``search_runs``: a small filter language over runs, answered by indexed queries.

A filter is conditions joined by ``and``::

    metrics.mae < 3 and params.alpha = '0.1' and tags.team != 'ops' and status = 'finished'

Each condition on a metric, param or tag selects run ids through its own table's
(key, value) index (latest metric values, never the history), and the runs all of
them select are joined to the runs table by id, so the query never forms a params ×
metrics × tags cross product and starts from the matching runs. Details of the page's
runs are then fetched with one query per table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, intersect, select
from sqlalchemy.orm import aliased

from loopml.errors import InvalidInput
from loopml.store import Store
from loopml.store.tables import ExperimentRow, LatestMetricRow, ParamRow, RunRow, TagRow
from loopml.tracking import service

if TYPE_CHECKING:
    import pandas as pd

ATTRIBUTES = {
    "run_id": RunRow.id,
    "id": RunRow.id,
    "name": RunRow.name,
    "status": RunRow.status,
    "user": RunRow.user,
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
    "git_commit": RunRow.git_commit,
    "parent_run_id": RunRow.parent_run_id,
    "wall_seconds": RunRow.wall_seconds,
    "cpu_seconds": RunRow.cpu_seconds,
}
KEYED = {"metrics": LatestMetricRow, "params": ParamRow, "tags": TagRow}
OPERATORS = {"=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not in"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w\-]*(?:\.(?:`[^`]+`|[\w\-]+))*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    entity: str  # "metrics", "params", "tags" or "attributes"
    key: str
    op: str
    value: Any


def parse_filter(text: str | None) -> list[Condition]:
    if not text or not text.strip():
        return []
    tokens = _tokenize(text)
    conditions, position = [], 0
    while position < len(tokens):
        condition, position = _parse_condition(tokens, position, text)
        conditions.append(condition)
        if position < len(tokens):
            word = tokens[position][1].lower()
            if word != "and":
                raise _syntax(text, f"expected 'and' but found {tokens[position][1]!r}")
            position += 1
    return conditions


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise _syntax(text, f"cannot read {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _parse_condition(tokens, position: int, text: str) -> tuple[Condition, int]:
    kind, name = tokens[position]
    if kind != "word":
        raise _syntax(text, f"expected a name such as metrics.mae, found {name!r}")
    entity, key = _split_name(name, text)
    op, position = _read_operator(tokens, position + 1, text)
    value, position = _read_value(tokens, position, op, text)
    _check_comparison(entity, key, op, value, text)
    if key in TIMES and entity == "attributes":
        value = (
            [_time(v, key, text) for v in value]
            if isinstance(value, list)
            else _time(value, key, text)
        )
    return Condition(entity, key, op, value), position


TIMES = ("start_time", "end_time")


def _time(value: Any, key: str, text: str) -> datetime:
    """A quoted ISO date or time, in UTC unless it names its offset."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise _syntax(text, f"{key} takes a quoted date or time such as '2024-05-01 12:00'")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _split_name(name: str, text: str) -> tuple[str, str]:
    prefix, _, key = name.partition(".")
    prefix = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes"}.get(
        prefix, prefix
    )
    key = key.strip("`")
    if prefix in KEYED and key:
        return prefix, key
    if prefix == "attributes" and key in ATTRIBUTES:
        return "attributes", key
    if not key and name in ATTRIBUTES:
        return "attributes", name
    raise _syntax(
        text,
        f"unknown name {name!r}; use metrics.<key>, params.<key>, tags.<key> "
        f"or one of {', '.join(sorted(ATTRIBUTES))}",
    )


def _read_operator(tokens, position: int, text: str) -> tuple[str, int]:
    if position >= len(tokens):
        raise _syntax(text, "a condition ends without an operator")
    kind, word = tokens[position]
    op = word.lower()
    if (
        kind == "word"
        and op == "not"
        and position + 1 < len(tokens)
        and tokens[position + 1][1].lower() == "in"
    ):
        return "not in", position + 2
    if (kind == "op") or (kind == "word" and op in OPERATORS):
        return op, position + 1
    raise _syntax(text, f"expected an operator (=, !=, <, <=, >, >=, LIKE, IN) but found {word!r}")


def _read_value(tokens, position: int, op: str, text: str) -> tuple[Any, int]:
    if op in ("in", "not in"):
        if position >= len(tokens) or tokens[position][1] != "(":
            raise _syntax(text, f"{op.upper()} takes a list in parentheses: ('a', 'b')")
        values, position = [], position + 1
        while position < len(tokens) and tokens[position][1] != ")":
            if tokens[position][1] != ",":
                values.append(_literal(tokens[position], text))
            position += 1
        if position >= len(tokens):
            raise _syntax(text, "a list is missing its closing parenthesis")
        return values, position + 1
    if position >= len(tokens):
        raise _syntax(text, "a condition ends without a value")
    return _literal(tokens[position], text), position + 1


def _literal(token: tuple[str, str], text: str) -> Any:
    kind, word = token
    if kind == "string":
        return word[1:-1].replace("\\'", "'").replace('\\"', '"')
    if kind == "number":
        return float(word)
    raise _syntax(text, f"expected a value such as 3 or 'text' but found {word!r}")


def _check_comparison(entity: str, key: str, op: str, value: Any, text: str) -> None:
    numeric = entity == "metrics" or key in ("wall_seconds", "cpu_seconds")
    if numeric and op in ("like", "ilike"):
        raise _syntax(text, f"{entity}.{key} is a number; compare it with =, <, > …")
    if entity in ("params", "tags") and op in ("<", "<=", ">", ">="):
        raise _syntax(
            text, f"{entity}.{key} is text; use =, !=, LIKE or IN (or log the value as a metric)"
        )
    values = value if isinstance(value, list) else [value]
    if numeric and any(isinstance(v, str) for v in values):
        raise _syntax(text, f"{entity}.{key} is a number; write the value without quotes")
    if entity in ("params", "tags") and any(isinstance(v, float) for v in values):
        raise _syntax(text, f"{entity}.{key} is text; quote the value: '{values[0]:g}'")


def _syntax(text: str, problem: str) -> InvalidInput:
    return InvalidInput(
        f"Cannot use the filter {text!r}: {problem}.",
        hint="Example: metrics.mae < 3 and params.alpha = '0.1' and status = 'finished'.",
    )


def _compare(column, op: str, value: Any):
    match op:
        case "=":
            return column == value
        case "!=":
            return column != value
        case "<":
            return column < value
        case "<=":
            return column <= value
        case ">":
            return column > value
        case ">=":
            return column >= value
        case "like":
            return column.like(value)
        case "ilike":
            return column.ilike(value)
        case "in":
            return column.in_(value)
        case _:
            return column.not_in(value)


def _matching(condition: Condition):
    """The ids of the runs whose metric, param or tag matches, through the table's
    (key, value) index."""
    table = KEYED[condition.entity]
    return select(table.run_id).where(
        table.key == condition.key, _compare(table.value, condition.op, condition.value)
    )


def _order(query, order_by: Sequence[str]):
    clauses = []
    for index, item in enumerate(order_by):
        words = item.split()
        direction = (
            words[-1].lower() if len(words) > 1 and words[-1].lower() in ("asc", "desc") else "asc"
        )
        name = (
            " ".join(words[:-1])
            if len(words) > 1 and words[-1].lower() in ("asc", "desc")
            else item
        )
        entity, key = _split_name(name.strip(), f"order_by {item!r}")
        if entity == "attributes":
            column = ATTRIBUTES[key]
        else:
            table = aliased(KEYED[entity], name=f"order_{index}")
            query = query.outerjoin(table, and_(table.run_id == RunRow.id, table.key == key))
            column = table.value
        if entity != "attributes" or column.expression.nullable:
            clauses.append(column.is_(None))  # runs without the value go last
        clauses.append(column.desc() if direction == "desc" else column.asc())
    return query.order_by(*clauses, RunRow.start_time.desc(), RunRow.id)


def search_runs(
    store: Store,
    project: str,
    experiments: Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
) -> pd.DataFrame:
    """Runs matching ``filter`` as a DataFrame: one row per run, columns for
    attributes, ``params.*``, ``metrics.*`` (latest values) and ``tags.*``."""
    import pandas as pd

    experiment_ids = service.experiment_ids(store, project, experiments)
    page = search_run_rows(store, experiment_ids, filter, order_by, max_results)
    if not page.runs:
        return pd.DataFrame({"run_id": pd.Series([], dtype="object")})
    frame = pd.DataFrame.from_records(page.runs, columns=["run_id", "experiment_id", *_ATTRIBUTES])
    frame = frame.drop(columns="experiment_id")
    for prefix, found in (("metrics", page.metrics), ("params", page.params), ("tags", page.tags)):
        rows = [(run_id, key, value) for run_id, items in found.items() for key, value, *_ in items]
        if rows:
            wide = pd.DataFrame.from_records(rows, columns=["run_id", "key", "value"]).pivot(
                index="run_id", columns="key", values="value"
            )
            wide.columns = [f"{prefix}.{key}" for key in wide.columns]
            frame = frame.join(wide, on="run_id")
    return frame


@dataclass(frozen=True)
class RunRows:
    """A page of runs as plain rows, for answers of thousands of runs (a domain object
    per run would cost more than the rest of the answer). ``runs`` in order, each with
    ``id``, ``experiment_id`` and ``_ATTRIBUTES``; the others by run id: params and tags
    as (key, value), latest metrics as (key, value or None for NaN, step, timestamp)."""

    runs: list[Any]
    params: dict[str, list[tuple]]
    tags: dict[str, list[tuple]]
    metrics: dict[str, list[tuple]]


def search_run_rows(
    store: Store,
    experiment_ids: Sequence[int],
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 1000,
    offset: int = 0,
) -> RunRows:
    """Runs of these experiments matching ``filter``, in ``order_by`` order, from
    ``offset`` on (how a caller pages through many runs), with what each run logged."""
    query = _page(_RUNS, experiment_ids, filter, order_by, max_results, offset)
    with store.read() as session:
        connection = session.connection()
        runs = connection.execute(query).all()
        ids = [run[0] for run in runs]
        details = {
            kind: _details(connection, f"SELECT run_id, {fields} FROM {table}", ids)
            for kind, table, fields in _DETAILS
        }
    return RunRows(runs, **details)


_DETAILS = (
    ("params", "params", "key, value"),
    ("tags", "tags", "key, value"),
    ("metrics", "latest_metrics", "key, value, step, timestamp"),
)
_IDS_PER_QUERY = 500  # within the oldest SQLite limit of 999 bound values


def _details(connection, select_sql: str, ids: list[str]) -> dict[str, list[tuple]]:
    """Rows of a run's table for these runs, by run id. Plain driver SQL: compiling an
    expanding IN of hundreds of ids costs more than running it."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    found: dict[str, list[tuple]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        sql = f"{select_sql} WHERE run_id IN ({', '.join([marker] * len(chunk))})"
        for row in connection.exec_driver_sql(sql, tuple(chunk)).fetchall():
            found.setdefault(row[0], []).append(row[1:])
    return found


def _page(query, experiment_ids, filter, order_by, max_results, offset):
    """``query`` (a select from runs) limited to the page of matching runs, in order."""
    conditions = parse_filter(filter)
    keyed = [_matching(c) for c in conditions if c.entity != "attributes"]
    if keyed:
        # The runs every keyed condition selects, joined to runs by id: the database
        # starts from the few matching runs instead of probing every run of the experiments.
        hits = (intersect(*keyed) if len(keyed) > 1 else keyed[0]).subquery("hits")
        query = query.join(hits, hits.c.run_id == RunRow.id)
    query = query.where(RunRow.experiment_id.in_(experiment_ids)).where(
        *[
            _compare(ATTRIBUTES[c.key], c.op, c.value)
            for c in conditions
            if c.entity == "attributes"
        ]
    )
    query = _order(query, list(order_by or []) or ["start_time desc"])
    if max_results is not None:
        query = query.limit(max_results)
    if offset:
        query = query.offset(offset)
    return query


_ATTRIBUTES = [
    "experiment",
    "name",
    "status",
    "start_time",
    "end_time",
    "user",
    "parent_run_id",
    "git_commit",
    "wall_seconds",
    "cpu_seconds",
    "peak_rss_bytes",
]
_RUNS = select(
    RunRow.id,
    RunRow.experiment_id,
    ExperimentRow.name.label("experiment"),
    *(getattr(RunRow, name) for name in _ATTRIBUTES[1:]),
).join(ExperimentRow, ExperimentRow.id == RunRow.experiment_id)
