"""ticket state records when a person last solved the ticket

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_states") as batch_op:
        batch_op.add_column(sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_states") as batch_op:
        batch_op.drop_column("solved_at")
