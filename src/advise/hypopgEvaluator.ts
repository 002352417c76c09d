import pg from 'pg';
import { analyzeSql } from '../sql/analyze.js';
import { AdvisorError } from './errors.js';
import { candidateSignature, createIndexStatement, quoteIdentifier } from './indexCandidate.js';
import type { IndexCandidate } from './indexCandidate.js';
import type { WhatIfEvaluator } from './whatIf.js';
import type { AdvisorQuery } from './workload.js';

/** Settings of a what-if session. */
export interface HypopgSessionOptions {
  connectionString: string;
  /** Per-EXPLAIN statement timeout, so one pathological plan cannot stall the advisor. */
  statementTimeoutMs: number;
  /** CREATE EXTENSION hypopg when it is available but not installed. */
  installExtension: boolean;
}

/** Where qopt installs HypoPG when asked to. */
export const HYPOPG_SCHEMA = 'hypopg';

/** The schema HypoPG is installed in, or null; installs it first when asked and possible. */
export async function hypopgSchema(client: pg.Client, install: boolean): Promise<string | null> {
  const lookup = async () =>
    (await client.query<{ schema: string }>("SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'hypopg'")).rows[0]?.schema ?? null;
  const schema = await lookup();
  if (schema || !install) return schema;
  const available = await client.query("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'");
  if (available.rowCount === 0) return null;
  try {
    // A schema of its own: installed once per database, never dropped with an application schema.
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${HYPOPG_SCHEMA}`);
    await client.query(`CREATE EXTENSION IF NOT EXISTS hypopg SCHEMA ${HYPOPG_SCHEMA}`);
  } catch (error) {
    // Another session may have created it at the same moment (unique violation): look again.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
  return lookup();
}

function explainJsonCost(rows: Array<Record<string, unknown>>): number {
  const value = Object.values(rows[0] ?? {})[0];
  const document = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  const plan = (Array.isArray(document) ? document[0] : document) as { Plan: { 'Total Cost': number } };
  return plan.Plan['Total Cost'];
}

/**
 * HypoPG what-if evaluation on a dedicated connection, inside one read-only transaction with a
 * statement timeout. `$n` queries without parameter samples get PostgreSQL 15's generic plan via
 * PREPARE + `plan_cache_mode = force_generic_plan` + EXPLAIN EXECUTE — on this connection only,
 * so no user's prepared statements are touched.
 */
export class HypopgEvaluator implements WhatIfEvaluator {
  readonly kind = 'hypopg' as const;
  readonly confidence = 'high' as const;
  private active = '';
  private readonly hypotheticalOids = new Map<string, number>();
  private statements = 0;
  private readonly costs = new Map<string, number | null>();
  private savepoints = 0;
  private lastFailure = '';
  private readonly failures = new Map<string, string>();

  private constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
  ) {}

  /** Opens the dedicated session; null when HypoPG is not installed (and could not be). */
  static async open(options: HypopgSessionOptions): Promise<HypopgEvaluator | null> {
    const client = new pg.Client({ connectionString: options.connectionString });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const schema = await hypopgSchema(client, options.installExtension);
      if (!schema) {
        await client.end();
        return null;
      }
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(options.statementTimeoutMs))}`);
      return new HypopgEvaluator(client, schema);
    } catch (error) {
      await client.end();
      throw new AdvisorError(`cannot open a HypoPG session: ${(error as Error).message}`, { cause: error });
    }
  }

  private fn(name: string): string {
    return `${quoteIdentifier(this.schema)}.${name}`;
  }

  private async guarded<T>(work: () => Promise<T>): Promise<T | null> {
    const savepoint = `qopt_whatif_${(this.savepoints += 1)}`;
    await this.client.query(`SAVEPOINT ${savepoint}`);
    try {
      const result = await work();
      await this.client.query(`RELEASE SAVEPOINT ${savepoint}`);
      return result;
    } catch (error) {
      // A query that cannot be planned (unknown parameter type, timeout) is left out of the evaluation, its reason kept.
      this.lastFailure = (error as Error).message;
      await this.client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
      return null;
    }
  }

  private async activate(config: readonly IndexCandidate[]): Promise<void> {
    const signatures = config.map(candidateSignature).sort();
    const key = signatures.join('\n');
    if (key === this.active) return;
    await this.client.query(`SELECT ${this.fn('hypopg_reset')}()`);
    this.hypotheticalOids.clear();
    for (const candidate of config) {
      const created = await this.guarded(() =>
        this.client.query<{ indexrelid: number }>(`SELECT indexrelid FROM ${this.fn('hypopg_create_index')}($1)`, [createIndexStatement(candidate, 'hypothetical', false)]),
      );
      const oid = created?.rows[0]?.indexrelid;
      if (oid !== undefined) this.hypotheticalOids.set(candidateSignature(candidate), oid);
    }
    this.active = key;
  }

  /**
   * A generic plan under the current hypothetical indexes. The statement is prepared afresh each
   * time and deallocated by name: a prepared statement keeps its cached generic plan, and creating
   * a hypothetical index does not invalidate it.
   */
  private async explainGeneric(query: AdvisorQuery, parameters: number): Promise<number | null> {
    if (parameters === 0) {
      return this.guarded(async () => explainJsonCost((await this.client.query(`EXPLAIN (FORMAT JSON) ${query.sql}`)).rows));
    }
    const name = `qopt_whatif_${(this.statements += 1)}`;
    const nulls = Array.from({ length: parameters }, () => 'NULL').join(', ');
    let isPrepared = false;
    try {
      return await this.guarded(async () => {
        await this.client.query(`PREPARE ${name} AS ${query.sql}`);
        isPrepared = true;
        await this.client.query('SET LOCAL plan_cache_mode = force_generic_plan');
        const result = await this.client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${nulls})`);
        await this.client.query('SET LOCAL plan_cache_mode = auto');
        return explainJsonCost(result.rows);
      });
    } finally {
      // Prepared statements outlive the savepoint's rollback; DEALLOCATE runs once it is settled, and only for one that exists.
      if (isPrepared) await this.client.query(`DEALLOCATE ${name}`);
    }
  }

  private async explainSamples(query: AdvisorQuery): Promise<number | null> {
    let total = 0;
    for (const params of query.paramSamples) {
      const cost = await this.guarded(async () => explainJsonCost((await this.client.query(`EXPLAIN (FORMAT JSON) ${query.sql}`, params)).rows));
      if (cost === null) return null;
      total += cost;
    }
    return total / query.paramSamples.length;
  }

  async cost(query: AdvisorQuery, config: readonly IndexCandidate[]): Promise<number | null> {
    const key = `${query.sql}\u0000${config.map(candidateSignature).sort().join('\n')}`;
    if (this.costs.has(key)) return this.costs.get(key)!;
    await this.activate(config);
    const parameters = analyzeSql(query.sql).parameterCount;
    const cost = query.paramSamples.length > 0 ? await this.explainSamples(query) : await this.explainGeneric(query, parameters);
    this.costs.set(key, cost);
    if (cost === null) this.failures.set(query.sql, this.lastFailure);
    return cost;
  }

  planningFailure(query: AdvisorQuery): string | null {
    return this.failures.get(query.sql) ?? null;
  }

  async hypotheticalBytes(candidate: IndexCandidate): Promise<number | null> {
    await this.activate([candidate]);
    const oid = this.hypotheticalOids.get(candidateSignature(candidate));
    if (oid === undefined) return null;
    const result = await this.guarded(() => this.client.query<{ bytes: string }>(`SELECT ${this.fn('hypopg_relation_size')}($1)::text AS bytes`, [oid]));
    return result ? Number(result.rows[0]?.bytes) : null;
  }

  async close(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
      await this.client.query(`SELECT ${this.fn('hypopg_reset')}()`);
    } finally {
      await this.client.end();
    }
  }
}
