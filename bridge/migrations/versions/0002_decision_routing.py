"""decisions record the handoff's priority, rollout, the customer's language and LLM tokens

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("rollout", sa.String(length=10), nullable=False, server_default="auto")
        )
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_column("tokens")
        batch_op.drop_column("language")
        batch_op.drop_column("rollout")
        batch_op.drop_column("priority")
