import type pg from 'pg';
import type { SqlAnalysis } from '../sql/analyze.js';

/** Statements worth a server-side prepared statement: one plannable statement (DDL, SET, COPY… are not). */
const PREPARABLE_COMMANDS = new Set(['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** True when the statement can run as a named prepared statement: one SELECT / INSERT / UPDATE / DELETE / MERGE. */
export function isPreparable(analysis: SqlAnalysis): boolean {
  return analysis.statements.length === 1 && PREPARABLE_COMMANDS.has(analysis.statements[0]!.command);
}

/**
 * Errors meaning a connection's prepared statement no longer matches the server: a schema change
 * altered its result columns (`cached plan must not change result type`, 0A000), or someone ran
 * `DEALLOCATE` / `DISCARD ALL` on the connection (26000, 42P05). The server raises them before
 * executing anything, so the statement can safely run again, unprepared, on another connection.
 */
export function isStalePreparedStatement(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  if (code === '26000' || code === '42P05') return true;
  return code === '0A000' && /cached plan must not change result type/i.test(message ?? '');
}

/** Options of {@link PreparedStatements}. */
export interface PreparedStatementsOptions {
  /** A text becomes a prepared statement on this use (1 = at once); one-off texts then never take server memory. */
  prepareOnUse: number;
  /** Prepared statements one connection holds at most; beyond it, new texts run unprepared on that connection. */
  maxPerConnection: number;
  /** Texts whose use counts and names are remembered (oldest forgotten first). */
  maxTexts: number;
}

interface TextEntry {
  uses: number;
  name: string | undefined;
}

// Statement names are numbered for the whole process, not per registry: two optimizers given the same
// driver (or pool) share its connections, and a connection must never see one name for two texts.
let namesIssued = 0;
function freshName(): string {
  return `qopt_${(namesIssued += 1).toString(36)}`;
}

// The names a connection has been asked to prepare, kept on the client object (cheaper than a WeakMap).
const PREPARED_NAMES = Symbol('qopt.preparedNames');
type NamedClient = pg.PoolClient & { [PREPARED_NAMES]?: Set<string> };

/**
 * Automatic prepared statements for repeated statements (what postgres.js does by default and raw
 * node-postgres does only when given a `name`): from its second use a text runs as a named statement,
 * so each connection parses and plans it once, and later executions send only Bind / Execute and
 * reuse the plan. Names are `qopt_<n>`, numbered for the whole process, so a name never stands for two
 * texts, even on a pool several optimizers share. node-postgres tracks which names each connection has parsed.
 */
export class PreparedStatements {
  private readonly texts = new Map<string, TextEntry>();

  /** `options` come from `executor.prepareOnUse`, `executor.maxPreparedPerConnection` and `executor.preparedTexts`. */
  constructor(private readonly options: PreparedStatementsOptions) {}

  /** The statement name of `text` once it is used often enough, else undefined (run it unnamed). */
  nameOf(text: string): string | undefined {
    const entry = this.texts.get(text);
    if (entry === undefined) return this.firstUse(text);
    if (entry.name !== undefined) return entry.name;
    entry.uses += 1;
    if (entry.uses >= this.options.prepareOnUse) entry.name = freshName();
    return entry.name;
  }

  /** Whether `client` may run `name` prepared: it already holds it, or has room for one more. */
  usableOn(client: pg.PoolClient, name: string): boolean {
    const tagged = client as NamedClient;
    const names = (tagged[PREPARED_NAMES] ??= new Set());
    if (names.has(name)) return true;
    if (names.size >= this.options.maxPerConnection) return false;
    names.add(name);
    return true;
  }

  /** Texts remembered right now. */
  get size(): number {
    return this.texts.size;
  }

  private firstUse(text: string): string | undefined {
    if (this.texts.size >= this.options.maxTexts) this.texts.delete(this.texts.keys().next().value!);
    const entry: TextEntry = { uses: 1, name: undefined };
    this.texts.set(text, entry);
    if (this.options.prepareOnUse <= 1) entry.name = freshName();
    return entry.name;
  }
}
