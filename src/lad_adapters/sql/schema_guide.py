'''The prose at the head of docs/schema.md: the rules the tables follow and how to operate
them (row-level security, the application role, partitions, migrations without long locks).'''

from __future__ import annotations

GUIDE = r"""
# The LAD schema

Generated from the SQLAlchemy metadata (`src/lad_adapters/sql/tables/`) by `lad db docs`; a
test fails when this file is stale. Alembic (`src/lad_adapters/sql/migrations/`) is the only
source of the schema: `lad db upgrade` builds it on an empty PostgreSQL or SQLite database,
`lad db downgrade base` removes it, and `lad db diff` lists any difference between a
database and the metadata (autogenerate must find none). The inventory it implements is
`docs/seed/000_6dab9ea484df001b.txt` (a copy of the production table inventory).

## Rules every table follows

- **Scope.** Each table is *tenant* (owned by one tenant), *global* (tenants, users,
  user_identities) or *mixed* (global rows with `tenant_id` NULL plus a tenant's own rows:
  feature_flags, billing_pricing_catalog, voice_agent_voices, ai_keyword_expansions).
- **Tenant key.** A tenant-owned table has `tenant_id NOT NULL` referencing `tenants`
  (ON DELETE CASCADE; omitted from the diagrams) as the first column of its primary key, and
  every foreign key to another tenant-owned table is composite and starts with `tenant_id`,
  so a row can never point at another tenant's row. References to users are single-column
  (users are global). The AI tables also expose the seed's `organization_id`, a stored
  column generated from `tenant_id`: never written, always equal.
- **Keys.** Ids are time-ordered UUIDs from the application; `voice_agents.id` is a BIGINT
  identity as in the seed (on SQLite, where a column of a composite key cannot
  autoincrement, the repository assigns `MAX(id) + 1` inside its write transaction).
- **Soft delete.** Tables with `deleted_at` keep deleted rows; reads filter
  `deleted_at IS NULL` and their unique keys are partial indexes `WHERE deleted_at IS NULL`
  (on both dialects), so a deleted row never blocks a new one.
- **Case-insensitive emails** (leads, email_accounts) are stored lower-cased (a CHECK
  enforces it) under a plain unique index: under row-level security an index on
  `lower(email)` cannot be used, because `lower()` is not leakproof and may not run before
  the policy. The same holds for any expression index a tenant-scoped query should use.
- **Types.** Money is `NUMERIC(20, 6)` and unit prices `NUMERIC(20, 10)` on PostgreSQL and
  exact integer minor units (BIGINT) on SQLite, never float; timestamps are `TIMESTAMPTZ`
  (UTC, timezone-aware in Python); documents are `JSONB` / `JSON`; phone numbers of the
  voice tables are `country_code` (varchar) + `base_number` (bigint); statuses are strings
  limited by CHECK constraints.
- **Append-only ledger.** A trigger refuses UPDATE and DELETE on
  `billing_ledger_transactions` on both dialects, and the application role is granted only
  SELECT and INSERT on it.

## Row-level security (PostgreSQL)

Every tenant-owned table has row-level security enabled and forced, with one policy:

```sql
CREATE POLICY tenant_isolation ON leads
  USING (tenant_id = NULLIF(current_setting('lad.tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = NULLIF(current_setting('lad.tenant_id', true), '')::uuid);
```

The unit of work sets `lad.tenant_id` and `lad.user_id` for its transaction
(`set_config(..., true)`, the function form of `SET LOCAL`). A connection without the
setting sees no tenant-owned row and cannot write one; a transaction of tenant A can neither
see, insert, update nor move a row of tenant B. Two exceptions: `memberships` is also
readable where `user_id` is the transaction's `lad.user_id` (logging in lists a user's
tenants before one is chosen); mixed tables show their global rows to everyone and let only
a transaction with no tenant write them (the operator), except `ai_keyword_expansions`, a
cache whose global rows any tenant may fill. Partitions carry no policy of their own and the
application is granted only the partitioned parent, so it cannot bypass the policy through a
partition.

Consequences for code: a query that must cross tenants (a sweep of expired reservations, a
reconcile of every wallet, a scheduler) lists the tenants (a global table) and opens one
unit of work per tenant; it cannot read several tenants in one statement. `COPY ... FROM`
is refused on a table with row-level security: a bulk load copies into a temporary table
and moves the rows with one `INSERT ... SELECT` (where deduplication can run in SQL too).
Database functions stay `SECURITY INVOKER`, so the policies apply inside them.

### The application role

Superusers and the owner of a table bypass row-level security (FORCE binds the owner, but
not a superuser), so the application must connect as a role that is neither. Migrations run
as the owner: `LAD_MIGRATION_DATABASE_URL` (falls back to `LAD_DATABASE_URL`).

```sh
# as the owner, once and after every upgrade (idempotent):
LAD_APP_ROLE_PASSWORD=... lad db app-role lad_app      # creates it if missing, grants
lad db upgrade --app-role lad_app                       # or: upgrade, then grant
# the application:
LAD_DATABASE_URL=postgresql+psycopg://lad_app:...@host/lad
LAD_MIGRATION_DATABASE_URL=postgresql+psycopg://lad_owner:...@host/lad
```

`lad db app-role` refuses a role that is a superuser, has BYPASSRLS or owns tables. It
grants USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on every table of the metadata
(SELECT/INSERT only on the ledger) and USAGE on the sequences. The test suite does the same
with a `lad_app` role, so every PostgreSQL test runs under row-level security.

`lad serve` checks the role it connects as before it starts, and refuses (one line naming
these commands, exit code 78) a superuser, a BYPASSRLS role or the owner of tenant tables.
`LAD_ALLOW_RLS_BYPASS=1` serves anyway, for local experiments only, with a warning on every
start.

## Partitions (PostgreSQL)

`voice_call_logs` (10M+ rows, hundreds of inserts a minute, read by tenant and date range,
archived by age) is range-partitioned by month on `created_at`. Partitions are named
`voice_call_logs_pYYYY_MM`; `lad db partitions ensure --months-ahead N` creates this month's
and the next N months' partitions idempotently (`lad db upgrade` runs it with 3; schedule it
monthly), and `voice_call_logs_default` catches rows outside them: when a month's partition
is created, the rows of that month waiting in the default partition are moved into it. A
query with the tenant and a `created_at` range reads only the matching partitions. An old
month is archived by moving its `voice_call_analysis` rows, then `ALTER TABLE
voice_call_logs DETACH PARTITION voice_call_logs_pYYYY_MM` (a short lock; `CONCURRENTLY` is
not allowed while a default partition exists) and dumping or dropping the detached table.

What partitioning costs: a unique key must contain the partition key, so the primary key is
`(tenant_id, id, created_at)` and a row referring to a call carries the call's
`created_at` too (`voice_call_analysis.call_created_at`); a lookup by id alone visits every
partition's index, so callers keep `created_at` with the id; no unique key can be put on
`provider_call_id` alone (deduplicate webhooks inside a time window instead).

Not partitioned, on purpose:

- `campaign_lead_activities` (1M+): it is read by enrollment and campaign across the whole
  life of a campaign, not by month, and it needs a unique key per enrollment, step and
  attempt (the guard against sending a step twice) that could not hold across monthly
  partitions. A million rows is comfortable for one indexed table.
- `billing_ledger_transactions` (1M+, tens a minute): its idempotency key must be unique per
  tenant for all time, which a monthly-partitioned table cannot enforce without a second,
  unpartitioned key table on the hottest write path (one more index insert per posting);
  reconcile reads a wallet's whole history, not a month. When it must shrink, the owner
  archives invoiced years into an archive table (the append-only trigger disabled for that
  one maintenance transaction), or converts it to monthly partitions plus such a key table.

## Changing the high-volume tables without long locks

voice_call_logs, campaign_lead_activities, billing_ledger_transactions, employees_cache and
company_search_cache are too big to rewrite or lock for long. Migrations that touch them:

- set `SET lock_timeout = '5s'` so a blocked ALTER fails instead of queueing every query
  behind it, and retry;
- add columns **nullable** (or with a constant default, which PostgreSQL 11+ records without
  rewriting); backfill in batches of a few thousand rows in separate transactions; then
  `ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID` and `VALIDATE CONSTRAINT` (no
  exclusive lock) before `SET NOT NULL`;
- create indexes `CONCURRENTLY` outside the migration's transaction
  (`with op.get_context().autocommit_block(): op.create_index(..., postgresql_concurrently=True)`);
  on a partitioned table, create the index `ON ONLY` the parent, build it `CONCURRENTLY` on
  each partition, then `ALTER INDEX ... ATTACH PARTITION`;
- add foreign keys and CHECKs `NOT VALID`, then `VALIDATE` in a later step;
- never change a column's type in place (that rewrites the table): add a new column, dual
  write, backfill, switch reads, drop the old one;
- a new tenant-owned table enables its own policy in its migration
  (`lad_adapters.sql.rls.tenant_owned(name)`), and operators re-run `lad db app-role`.

SQLite has none of these concerns: Alembic's batch mode copies the table.
"""
