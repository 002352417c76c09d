import { hashMod } from './workload.js';
import type { Workload } from './workload.js';

const ROLES = ['owner', 'admin', 'editor', 'viewer'];
const PROVIDERS = ['google', 'github', 'microsoft'];
const CONNECTOR_TYPES = ['postgres', 'mysql', 's3', 'csv', 'api', 'bigquery'];
const CONNECTOR_STATUSES = ['active', 'inactive', 'error'];
const STEP_TYPES = ['extract', 'transform', 'load', 'validate'];
const EXECUTION_STATUSES = ['completed', 'failed', 'running', 'pending', 'cancelled'];
const TRIGGERS = ['schedule', 'manual', 'api', 'webhook'];
const EPOCH = '2024-01-01';

/** `(ARRAY['a','b'])[k + 1]` for a pseudo-random k. */
function pick(values: readonly string[], expression: string, seed: number): string {
  return `(ARRAY[${values.map((value) => `'${value}'`).join(', ')}])[${hashMod(expression, seed, values.length)} + 1]`;
}

function isoAt(days: number): string {
  const date = new Date(`${EPOCH}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString();
}

/** etl-database-performance-guide.md: a multi-tenant ETL platform's users, connectors, pipelines and executions. */
export const etlWorkload: Workload = {
  name: 'etl',
  description: 'ETL platform: organization-scoped listings, pipeline scheduling, execution monitoring, OAuth look-ups',
  seed: 'etl-database-performance-guide.md',
  tables: ['organizations', 'users', 'social_accounts', 'api_keys', 'data_connectors', 'etl_pipelines', 'pipeline_steps', 'pipeline_executions'],
  schemaSql: `
    CREATE TABLE organizations (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL);
    CREATE TABLE users (
      id bigint PRIMARY KEY, organization_id bigint NOT NULL, email text NOT NULL, role text NOT NULL,
      last_login timestamptz, created_at timestamptz NOT NULL
    );
    CREATE TABLE social_accounts (
      id bigint PRIMARY KEY, user_id bigint NOT NULL, provider text NOT NULL, provider_account_id text NOT NULL,
      provider_account_email text
    );
    CREATE TABLE api_keys (
      id bigint PRIMARY KEY, user_id bigint NOT NULL, key_hash text NOT NULL, is_active boolean NOT NULL,
      expires_at timestamptz
    );
    CREATE TABLE data_connectors (
      id bigint PRIMARY KEY, organization_id bigint NOT NULL, created_by_id bigint NOT NULL, name text NOT NULL,
      type text NOT NULL, status text NOT NULL, file_type text, last_used timestamptz
    );
    CREATE TABLE etl_pipelines (
      id bigint PRIMARY KEY, organization_id bigint NOT NULL, created_by_id bigint NOT NULL, name text NOT NULL,
      is_scheduled boolean NOT NULL, next_run timestamptz, created_at timestamptz NOT NULL
    );
    CREATE TABLE pipeline_steps (
      id bigint PRIMARY KEY, pipeline_id bigint NOT NULL, step_order integer NOT NULL, step_type text NOT NULL,
      source_connector_id bigint, transformation_type text
    );
    CREATE TABLE pipeline_executions (
      id bigint PRIMARY KEY, pipeline_id bigint NOT NULL, status text NOT NULL, started_at timestamptz NOT NULL,
      completed_at timestamptz, started_by_id bigint, trigger_type text NOT NULL, rows_processed bigint NOT NULL
    );`,
  seedIndexes: [
    'CREATE INDEX idx_users_organization_role ON users (organization_id, role)',
    'CREATE INDEX idx_social_accounts_provider_account ON social_accounts (provider, provider_account_id)',
    'CREATE INDEX idx_api_keys_key_hash ON api_keys (key_hash)',
    'CREATE INDEX idx_data_connectors_org_status ON data_connectors (organization_id, status)',
    'CREATE INDEX idx_etl_pipelines_scheduled ON etl_pipelines (is_scheduled, next_run)',
    'CREATE INDEX idx_pipeline_steps_pipeline_id ON pipeline_steps (pipeline_id)',
    'CREATE INDEX idx_pipeline_executions_status_started ON pipeline_executions (status, started_at)',
    'CREATE INDEX idx_pipeline_executions_pipeline_id ON pipeline_executions (pipeline_id)',
    'CREATE INDEX idx_pipeline_executions_started_by_id ON pipeline_executions (started_by_id)',
  ],
  sizes(scale) {
    const at = (base: number, minimum: number) => Math.max(minimum, Math.round(base * scale));
    return {
      organizations: at(500, 5),
      users: at(20_000, 50),
      social_accounts: at(20_000, 50),
      api_keys: at(10_000, 25),
      data_connectors: at(5_000, 20),
      etl_pipelines: at(10_000, 20),
      pipeline_steps: at(50_000, 100),
      pipeline_executions: at(2_000_000, 1000),
    };
  },
  generators(sizes) {
    const organizations = sizes.organizations!;
    const users = sizes.users!;
    const pipelines = sizes.etl_pipelines!;
    const executions = sizes.pipeline_executions!;
    const executionsSpanMinutes = 365 * 24 * 60;
    return [
      {
        table: 'organizations',
        rows: organizations,
        sql: `INSERT INTO organizations SELECT i, 'Org ' || i, timestamptz '${EPOCH}' - i * interval '1 day' FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'users',
        rows: users,
        sql: `INSERT INTO users
          SELECT i, (i - 1) % ${organizations} + 1, 'user' || i || '@example.com', ${pick(ROLES, 'i', 41)},
                 CASE WHEN ${hashMod('i', 42, 10)} = 0 THEN NULL ELSE timestamptz '${EPOCH}' + ${hashMod('i', 43, 525600)} * interval '1 minute' END,
                 timestamptz '${EPOCH}' - ${hashMod('i', 44, 1000)} * interval '1 day'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'social_accounts',
        rows: sizes.social_accounts!,
        sql: `INSERT INTO social_accounts
          SELECT i, (i - 1) % ${users} + 1, ${pick(PROVIDERS, 'i', 45)}, 'acct-' || i, 'user' || ((i - 1) % ${users} + 1) || '@example.com'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'api_keys',
        rows: sizes.api_keys!,
        sql: `INSERT INTO api_keys
          SELECT i, (i - 1) % ${users} + 1, md5('key-' || i), ${hashMod('i', 46, 4)} <> 0,
                 timestamptz '${EPOCH}' + (${hashMod('i', 47, 730)} - 365) * interval '1 day'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'data_connectors',
        rows: sizes.data_connectors!,
        sql: `INSERT INTO data_connectors
          SELECT i, (i - 1) % ${organizations} + 1, (i - 1) % ${users} + 1, 'Connector ' || i, ${pick(CONNECTOR_TYPES, 'i', 48)},
                 ${pick(CONNECTOR_STATUSES, 'i', 49)}, CASE WHEN ${hashMod('i', 50, 3)} = 0 THEN 'csv' END,
                 timestamptz '${EPOCH}' + ${hashMod('i', 51, 365)} * interval '1 day'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'etl_pipelines',
        rows: pipelines,
        sql: `INSERT INTO etl_pipelines
          SELECT i, (i - 1) % ${organizations} + 1, (i - 1) % ${users} + 1, 'Pipeline ' || i, ${hashMod('i', 52, 3)} = 0,
                 timestamptz '${EPOCH}' + ${hashMod('i', 53, 525600)} * interval '1 minute',
                 timestamptz '${EPOCH}' - ${hashMod('i', 54, 700)} * interval '1 day'
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'pipeline_steps',
        rows: sizes.pipeline_steps!,
        sql: `INSERT INTO pipeline_steps
          SELECT i, (i - 1) % ${pipelines} + 1, ((i - 1) / ${pipelines})::int + 1, ${pick(STEP_TYPES, 'i', 55)},
                 ${hashMod('i', 56, sizes.data_connectors!)} + 1, CASE WHEN ${hashMod('i', 57, 2)} = 0 THEN 'map' ELSE 'filter' END
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'pipeline_executions',
        rows: executions,
        // Executions are appended in time order, as a scheduler would write them.
        sql: `INSERT INTO pipeline_executions
          SELECT i, ${hashMod('i', 58, pipelines)} + 1,
                 CASE WHEN i > ${executions} - ${Math.max(1, Math.round(executions / 400))} THEN ${pick(['running', 'pending'], 'i', 59)}
                      ELSE ${pick(EXECUTION_STATUSES.slice(0, 2).concat(['completed', 'completed', 'cancelled']), 'i', 60)} END,
                 timestamptz '${EPOCH}' + (i * ${executionsSpanMinutes}::float8 / ${executions}) * interval '1 minute',
                 timestamptz '${EPOCH}' + (i * ${executionsSpanMinutes}::float8 / ${executions} + ${hashMod('i', 61, 120)}) * interval '1 minute',
                 CASE WHEN ${hashMod('i', 62, 2)} = 0 THEN NULL ELSE ${hashMod('i', 63, users)} + 1 END,
                 ${pick(TRIGGERS, 'i', 64)}, ${hashMod('i', 65, 1000000)}
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
    ];
  },
  queries: [
    {
      name: 'org_users_by_role',
      description: "An organization's users with one role",
      sql: 'SELECT id, email, role, last_login FROM users WHERE organization_id = $1 AND role = $2 ORDER BY email',
      params: (rng, sizes) => [rng.int(1, sizes.organizations!), rng.pick(ROLES)],
    },
    {
      name: 'org_active_connectors',
      description: "An organization's connectors in one status",
      sql: 'SELECT id, name, type, last_used FROM data_connectors WHERE organization_id = $1 AND status = $2',
      params: (rng, sizes) => [rng.int(1, sizes.organizations!), 'active'],
    },
    {
      name: 'due_pipelines',
      description: 'Scheduled pipelines due to run',
      sql: 'SELECT id, name, next_run FROM etl_pipelines WHERE is_scheduled = true AND next_run <= $1 ORDER BY next_run LIMIT 100',
      params: (rng) => [isoAt(rng.int(1, 30))],
    },
    {
      name: 'pipeline_steps',
      description: 'The steps of one pipeline in execution order',
      sql: 'SELECT id, step_order, step_type, source_connector_id, transformation_type FROM pipeline_steps WHERE pipeline_id = $1 ORDER BY step_order',
      params: (rng, sizes) => [rng.int(1, sizes.etl_pipelines!)],
    },
    {
      name: 'running_executions',
      description: 'Execution monitoring: recent executions in one status',
      sql: 'SELECT id, pipeline_id, started_at FROM pipeline_executions WHERE status = $1 AND started_at >= $2 ORDER BY started_at DESC LIMIT 50',
      params: (rng) => [rng.pick(['running', 'pending']), isoAt(rng.int(300, 360))],
    },
    {
      name: 'pipeline_execution_history',
      description: 'The latest executions of one pipeline',
      sql: 'SELECT id, status, started_at, completed_at, rows_processed FROM pipeline_executions WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 20',
      params: (rng, sizes) => [rng.int(1, sizes.etl_pipelines!)],
    },
    {
      name: 'oauth_lookup',
      description: 'OAuth sign-in: the user behind a provider account',
      sql: `SELECT u.id, u.email, u.organization_id
FROM social_accounts sa JOIN users u ON u.id = sa.user_id
WHERE sa.provider = $1 AND sa.provider_account_id = $2`,
      params: (rng, sizes) => [rng.pick(PROVIDERS), `acct-${rng.int(1, sizes.social_accounts!)}`],
    },
    {
      name: 'api_key_lookup',
      description: 'API authentication: an active key by its hash',
      sql: 'SELECT id, user_id, expires_at FROM api_keys WHERE key_hash = md5($1) AND is_active = true',
      params: (rng, sizes) => [`key-${rng.int(1, sizes.api_keys!)}`],
    },
    {
      name: 'user_failed_executions',
      description: "A user's failed executions",
      sql: "SELECT count(*) AS failed FROM pipeline_executions WHERE started_by_id = $1 AND status = 'failed'",
      params: (rng, sizes) => [rng.int(1, sizes.users!)],
    },
  ],
  loops: [],
};
