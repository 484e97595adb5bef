"""attachments and comments on tasks

Revision ID: 0008_attachments_comments
Revises: 0007_search_indexes
Create Date: 2026-12-01 13:30:00

Attachments keep only metadata and a random storage key (the bytes live in the attachment
storage: a folder under instance/ or an S3 bucket). Both tables go with their task
(ON DELETE CASCADE); an attachment's uploader and a comment's author become NULL if the
account is ever removed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_attachments_comments'
down_revision = '0007_search_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('size >= 0', name=op.f('ck_attachments_size')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_attachments_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_attachments_uploader_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachments_storage_key')),
    sa.UniqueConstraint('thumbnail_key', name=op.f('uq_attachments_thumbnail_key'))
    )
    op.create_index('ix_attachments_task_id_created_at', 'attachments', ['task_id', 'created_at'], unique=False)
    op.create_index('ix_attachments_uploader_id', 'attachments', ['uploader_id'], unique=False)
    op.create_table('comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('edited_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_comments_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    op.create_index('ix_comments_task_id_created_at', 'comments', ['task_id', 'created_at'], unique=False)
    op.create_index('ix_comments_author_id', 'comments', ['author_id'], unique=False)


def downgrade():
    op.drop_index('ix_comments_author_id', table_name='comments')
    op.drop_index('ix_comments_task_id_created_at', table_name='comments')
    op.drop_table('comments')
    op.drop_index('ix_attachments_uploader_id', table_name='attachments')
    op.drop_index('ix_attachments_task_id_created_at', table_name='attachments')
    op.drop_table('attachments')
