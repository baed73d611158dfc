"""GSS buffer: the mutation stream, in which a load's started periods are one outbox record.

A load writes the ``status.started`` events of the periods it starts as one ``status.bulk_started``
record naming its load and the id range of those periods, standing for a block of sequence numbers that
ends at its own; the view ``mutation_stream`` shows every mutation event with such records expanded to
one ``status.started`` row per period, numbered ``seq - last + period id``, so consumers read one row per
change, each with its own number, as before. See :mod:`kruispunt.statuses.outbox`.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


_PLAIN = """
SELECT e.seq AS seq, e.recorded_at AS recorded_at, e.kind AS kind, e.person_id AS person_id,
       e.insz AS insz, e.subject AS subject, e.effective_from AS effective_from,
       e.effective_to AS effective_to, e.detail AS detail
FROM mutation_event e
WHERE e.kind <> 'status.bulk_started'
"""

_EXPANDED = """
SELECT e.seq - {last} + p.id, p.recorded_at, 'status.started', p.person_id, n.insz, p.status, p.start_date,
       p.end_date,
       '{{"source":"' || p.source || '","old":[],"new":{{"start":"' || {start} || '","end":'
       || coalesce('"' || {end} || '"', 'null') || '}}}}'
FROM mutation_event e
JOIN status_period p
  ON p.id BETWEEN {first} AND {last} AND p.load_id = {load}
LEFT JOIN person_number n ON n.person_id = p.person_id AND n.replaced_at IS NULL
WHERE e.kind = 'status.bulk_started'
"""

_DIALECT = {
    "sqlite": {
        "start": "p.start_date",
        "end": "p.end_date",
        "first": "json_extract(e.detail, '$.first')",
        "last": "json_extract(e.detail, '$.last')",
        "load": "json_extract(e.detail, '$.load')",
    },
    "postgresql": {
        "start": "to_char(p.start_date, 'YYYY-MM-DD')",
        "end": "to_char(p.end_date, 'YYYY-MM-DD')",
        "first": "(e.detail::jsonb ->> 'first')::bigint",
        "last": "(e.detail::jsonb ->> 'last')::bigint",
        "load": "(e.detail::jsonb ->> 'load')::bigint",
    },
}


def upgrade() -> None:
    expanded = _EXPANDED.format(**_DIALECT[op.get_bind().dialect.name])
    op.execute(f"CREATE VIEW mutation_stream AS {_PLAIN} UNION ALL {expanded}")


def downgrade() -> None:
    op.execute("DROP VIEW mutation_stream")
