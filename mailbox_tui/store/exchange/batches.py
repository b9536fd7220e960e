"""Database reads in batches of keys: an import asks about up to 100,000 natural keys at once."""

from __future__ import annotations

from collections.abc import Iterator

CHUNK = 500


def where_in(model, column: str, keys: list, columns: list[str]) -> Iterator[tuple]:
    """Rows whose `column` is one of `keys`, as tuples, a chunk of keys per query.

    Plain SQL: peewee builds a node per IN value, which dominates at 100,000 keys."""
    db = model._meta.database
    wanted = ", ".join(f'"{c}"' for c in columns)
    for chunk in chunks(keys):
        marks = ", ".join([db.param] * len(chunk))
        sql = f'SELECT {wanted} FROM "{model._meta.table_name}" WHERE "{column}" IN ({marks})'
        yield from db.execute_sql(sql, chunk).fetchall()


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

