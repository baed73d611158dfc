"""Exchange hub: a version number of the policy (deliberations, their parties, provider routes).

Triggers bump ``hub_policy.version`` in the very transaction that changes a deliberation, a party or a
route, whoever makes the change (the CLI, another worker, plain SQL). The hub reads the version in the
statement that authenticates each call and reloads its cached policy when it moved, so a change applies to
the next call in every process.

Revision ID: 0009
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

WATCHED = ("deliberation", "deliberation_party", "provider_route")
BUMP = "UPDATE hub_policy SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    policy = op.create_table(
        "hub_policy",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(policy, [{"id": 1, "version": 1}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION hub_policy_bump() RETURNS trigger AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_policy AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hub_policy_bump()"
            )
        return
    for table in WATCHED:  # SQLite has row triggers only, one per event
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_policy_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_policy ON {table}")
        op.execute("DROP FUNCTION hub_policy_bump()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_policy_{event}")
    op.drop_table("hub_policy")
