import { createIndexStatement, quoteIdentifier } from '../advise/indexCandidate.js';
import type { IndexCandidate } from '../advise/indexCandidate.js';
import { costEstimate } from '../analyze/cost.js';
import type { CostEstimate } from '../analyze/cost.js';
import type { Driver } from '../db/driver.js';
import { explainOn } from '../db/explain.js';

/** The planner's estimates of statements (in order) as if some indexes existed, or why it could not be asked. */
export type HypotheticalCost = { ok: true; costs: CostEstimate[] } | { ok: false; reason: string };

/** Thrown to end the what-if transaction with a ROLLBACK once the plan is read. */
class Rollback extends Error {}

/**
 * Plans statements with hypothetical indexes (HypoPG, when installed; qopt does not install it here) on one
 * connection, inside a transaction that is rolled back. Hypothetical indexes live in the backend, not in the
 * transaction, so they are reset before the connection goes back to the pool.
 */
export async function hypotheticalCost(driver: Driver, statements: ReadonlyArray<{ sql: string; params: readonly unknown[] }>, indexes: readonly IndexCandidate[]): Promise<HypotheticalCost> {
  let outcome: HypotheticalCost | undefined;
  try {
    await driver.transaction(async (session) => {
      const found = await session.query<{ schema: string }>("SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'hypopg'");
      const schema = found.rows[0]?.schema;
      if (!schema) {
        outcome = { ok: false, reason: 'HypoPG is not installed: the cost with the proposed index is unknown (create it and verify again)' };
        throw new Rollback();
      }
      const fn = (name: string) => `${quoteIdentifier(schema)}.${name}`;
      // A savepoint keeps the transaction usable after a failed step, so the reset below always runs.
      await session.query('SAVEPOINT qopt_whatif');
      try {
        for (const index of indexes) await session.query(`SELECT indexrelid FROM ${fn('hypopg_create_index')}($1)`, [createIndexStatement(index, 'hypothetical', false)]);
        const costs: CostEstimate[] = [];
        for (const statement of statements) costs.push(costEstimate(await explainOn(session, statement.sql, statement.params, {})));
        outcome = { ok: true, costs };
      } catch (error) {
        await session.query('ROLLBACK TO SAVEPOINT qopt_whatif');
        outcome = { ok: false, reason: `the what-if plan failed: ${error instanceof Error ? error.message : String(error)}` };
      }
      await session.query(`SELECT ${fn('hypopg_reset')}()`);
      throw new Rollback();
    });
  } catch (error) {
    if (outcome) return outcome;
    return { ok: false, reason: `the what-if plan failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: false, reason: 'the what-if plan did not run' };
}
