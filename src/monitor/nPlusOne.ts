import type { SqlAnalysis } from '../sql/analyze.js';
import { javascriptLiteral, loaderSuggestion } from './loaderSuggestion.js';
import type { QueryObservation } from './recorder.js';
import type { RequestContext } from './requestContext.js';

/** How one N+1 pattern was seen: inside a named request context, or as a burst on one connection. */
export type NPlusOneSource = 'context' | 'burst';

/** A query shape repeated once per item where one batched query would do. */
export interface NPlusOneFinding {
  fingerprint: string;
  normalized: string;
  /** The statement as the loop ran it. */
  sql: string;
  source: NPlusOneSource;
  /** The request context's name, or `connection <id>` for a burst. */
  where: string;
  /** Executions in the request / burst that triggered the finding. */
  calls: number;
  /** Distinct parameter lists among them. */
  distinctParams: number;
  /** How many requests / bursts showed the pattern so far. */
  occurrences: number;
  firstSeenAt: number;
  lastSeenAt: number;
  /** The column the loop varies, when qopt can tell. */
  keyColumn: string | null;
  /** The `$n` the loop varies. */
  keyParameter: number | null;
  /** One statement for all keys (`= ANY($n)`), or null when it cannot be derived safely. */
  batchedSql: string | null;
  /**
   * JavaScript that runs the batched statement and puts its rows back in the callers' key order:
   * `async function rowsByKey(qo, keys)` giving one array of rows per key.
   */
  orderRestoringMap: string | null;
  /**
   * The `qo.loader` call that replaces the loop, as runnable code; when qo.loader cannot express the
   * statement, a `//` comment saying why (the reason is also in `loaderUnavailableReason`).
   */
  loaderCall: string | null;
  /** Why qo.loader cannot replace the loop (ORDER BY, a join, a non-equality condition…), or null. */
  loaderUnavailableReason: string | null;
  description: string;
}

/** Options of the detector. */
export interface NPlusOneOptions {
  /** Repetitions (with distinct parameters) that make a pattern. */
  threshold: number;
  /** A burst on one connection ends when two executions are further apart than this. */
  burstGapMs?: number;
  /** The memoized SQL analyzer, to find the varying predicate. */
  analyze: (sql: string) => SqlAnalysis;
}

interface BurstState {
  fingerprint: string;
  lastAt: number;
  calls: number;
  distinct: Set<string>;
  samples: unknown[][];
  reported: boolean;
}

const SAMPLE_LIMIT = 8;

function parameterKey(observation: QueryObservation): string {
  const text = observation.sql ?? observation.normalized;
  const params = observation.params;
  // Without parameters the text alone tells executions apart (literals inlined in a loop): no string
  // is built per execution, as the burst check runs on every query that has a connection.
  if (params === undefined || params.length === 0) return text;
  try {
    return `${text}\u0000${JSON.stringify(params)}`;
  } catch {
    // BigInt and cycles do not serialize; their text form still tells different keys apart.
    return `${text}\u0000${params.map(String).join('\u0001')}`;
  }
}

function isRead(observation: QueryObservation): boolean {
  return observation.readOnly ?? observation.operation === 'SELECT';
}

/**
 * Finds N+1 loops: one read fingerprint executed ≥ `threshold` times with different parameters
 * inside one request context, or in one uninterrupted burst on one connection. Each finding carries
 * the batched statement and the loader call that replace the loop.
 */
export class NPlusOneDetector {
  private readonly findings = new Map<string, NPlusOneFinding>();
  private readonly bursts = new Map<string | number, BurstState>();
  private readonly burstGapMs: number;

  constructor(private readonly options: NPlusOneOptions) {
    this.burstGapMs = options.burstGapMs ?? 50;
  }

  /** Looks at one execution (call it after the recorder). */
  observe(observation: QueryObservation, context: RequestContext | undefined): void {
    if (!isRead(observation) || observation.failed) return;
    if (context) this.observeInContext(observation, context);
    else if (observation.connection !== undefined) this.observeBurst(observation);
  }

  /** Every finding so far, most frequent first. */
  list(): NPlusOneFinding[] {
    return [...this.findings.values()].sort((a, b) => b.occurrences - a.occurrences || b.calls - a.calls);
  }

  /** Forgets every finding. */
  reset(): void {
    this.findings.clear();
    this.bursts.clear();
  }

  private observeInContext(observation: QueryObservation, context: RequestContext): void {
    let counter = context.counts.get(observation.fingerprint);
    if (!counter) {
      counter = { calls: 0, distinct: new Set(), reported: false, samples: [] };
      context.counts.set(observation.fingerprint, counter);
    }
    counter.calls += 1;
    if (counter.reported) return;
    counter.distinct.add(parameterKey(observation));
    if (counter.samples.length < SAMPLE_LIMIT) counter.samples.push([...(observation.params ?? [])]);
    if (counter.distinct.size < this.options.threshold) return;
    counter.reported = true;
    this.report(observation, 'context', context.name, counter.calls, counter.distinct.size, counter.samples);
  }

  private observeBurst(observation: QueryObservation): void {
    const at = observation.at ?? Date.now();
    const key = observation.connection!;
    let burst = this.bursts.get(key);
    if (!burst || burst.fingerprint !== observation.fingerprint || at - burst.lastAt > this.burstGapMs) {
      burst = { fingerprint: observation.fingerprint, lastAt: at, calls: 0, distinct: new Set(), samples: [], reported: false };
      this.bursts.set(key, burst);
    }
    burst.lastAt = at;
    burst.calls += 1;
    if (burst.reported) return;
    burst.distinct.add(parameterKey(observation));
    if (burst.samples.length < SAMPLE_LIMIT) burst.samples.push([...(observation.params ?? [])]);
    if (burst.distinct.size < this.options.threshold) return;
    burst.reported = true;
    this.report(observation, 'burst', `connection ${String(key)}`, burst.calls, burst.distinct.size, burst.samples);
  }

  private report(observation: QueryObservation, source: NPlusOneSource, where: string, calls: number, distinct: number, samples: unknown[][]): void {
    const at = observation.at ?? Date.now();
    const id = `${observation.fingerprint}\u0000${where}`;
    const known = this.findings.get(id);
    if (known) {
      known.occurrences += 1;
      known.lastSeenAt = at;
      known.calls = Math.max(known.calls, calls);
      return;
    }
    const sql = observation.sql ?? observation.normalized;
    const plan = batchPlan(sql, samples, this.options.analyze);
    this.findings.set(id, {
      fingerprint: observation.fingerprint,
      normalized: observation.normalized,
      sql,
      source,
      where,
      calls,
      distinctParams: distinct,
      occurrences: 1,
      firstSeenAt: at,
      lastSeenAt: at,
      ...plan,
      description:
        `N+1: "${observation.normalized}" ran ${calls}× with ${distinct} different parameter lists in ${source === 'context' ? `request "${where}"` : `one burst on ${where}`}` +
        (plan.batchedSql ? `; one query with = ANY($${plan.keyParameter}) on ${plan.keyColumn} replaces it` : '') +
        (plan.loaderUnavailableReason ? ` (qo.loader does not apply: ${plan.loaderUnavailableReason})` : ''),
    });
  }
}

type BatchPlan = Pick<NPlusOneFinding, 'keyColumn' | 'keyParameter' | 'batchedSql' | 'orderRestoringMap' | 'loaderCall' | 'loaderUnavailableReason'>;

const NO_PLAN: BatchPlan = { keyColumn: null, keyParameter: null, batchedSql: null, orderRestoringMap: null, loaderCall: null, loaderUnavailableReason: null };

const AGGREGATES = new Set(['count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or']);

/** The parameter positions (1-based) whose values differ between the sampled executions. */
function varyingParameters(samples: unknown[][]): number[] {
  const width = Math.max(0, ...samples.map((sample) => sample.length));
  const varying: number[] = [];
  for (let position = 0; position < width; position += 1) {
    // javascriptLiteral, not JSON.stringify: a BigInt parameter must not throw inside the monitor.
    const values = new Set(samples.map((sample) => javascriptLiteral(sample[position] ?? null) ?? String(sample[position])));
    if (values.size > 1) varying.push(position + 1);
  }
  return varying;
}

/**
 * Derives the batched statement: the loop's one varying parameter must be compared with `=` to a
 * column of a single-statement SELECT; then `col = $k` becomes `col = ANY($k)` and the rows are
 * grouped back by that column. Anything else gets no batched SQL rather than a wrong one.
 */
export function batchPlan(sql: string, samples: unknown[][], analyze: (sql: string) => SqlAnalysis): BatchPlan {
  let analysis: SqlAnalysis;
  try {
    analysis = analyze(sql);
  } catch {
    return NO_PLAN;
  }
  const statement = analysis.statements[0];
  if (analysis.statements.length !== 1 || !statement || statement.command !== 'SelectStmt') return NO_PLAN;
  // One statement over all keys would apply these once, not once per key: its rows would differ from the loop's.
  if (statement.limit || statement.offset || statement.groupBy.length > 0 || statement.windowFunctions > 0 || statement.functions.some((name) => AGGREGATES.has(name.toLowerCase()))) {
    return NO_PLAN;
  }
  const varying = varyingParameters(samples);
  if (varying.length !== 1) return NO_PLAN;
  const key = varying[0]!;
  const predicate = statement.predicates.find((p) => p.op === '=' && p.value.kind === 'parameter' && p.value.index === key);
  if (!predicate) return NO_PLAN;
  const equality = new RegExp(`=\\s*\\$${key}(?!\\d)`, 'g');
  if ((sql.match(equality) ?? []).length !== 1) return NO_PLAN;
  let batchedSql = sql.replace(equality, `= ANY($${key})`);
  const column = predicate.column;
  const selectList = /^\s*select\s+([\s\S]*?)\s+from\s/i.exec(batchedSql)?.[1] ?? '';
  const selectsKey = selectList.includes('*') || new RegExp(`(^|[\\s,.])"?${column}"?(\\s|,|$)`, 'i').test(selectList);
  // The rows must carry the key to be mapped back to their callers.
  if (!selectsKey) batchedSql = batchedSql.replace(/^\s*select\s+/i, (head) => `${head}${column}, `);
  const shared = samples[0]!;
  const parameters = Array.from({ length: Math.max(analysis.parameterCount, shared.length) }, (_, index) => (index + 1 === key ? 'keys' : javascriptLiteral(shared[index])));
  const loader = loaderSuggestion(statement, key, shared);
  const loaderCall = loader.ok ? loader.call : `// qo.loader does not apply: ${loader.reason}; run the batched SQL with rowsByKey`;
  const loaderUnavailableReason = loader.ok ? null : loader.reason;
  if (parameters.includes(null)) return { keyColumn: column, keyParameter: key, batchedSql, orderRestoringMap: null, loaderCall, loaderUnavailableReason };
  // Keys are compared as text, as qo.loader does: node-postgres returns int8 as a string while callers pass numbers.
  const row = `row[${JSON.stringify(column)}]`;
  const orderRestoringMap = [
    `async function rowsByKey(qo, keys) {`,
    `  const { rows } = await qo.query(${JSON.stringify(batchedSql)}, [${parameters.join(', ')}]);`,
    `  const byKey = new Map();`,
    `  for (const row of rows) {`,
    `    const list = byKey.get(String(${row}));`,
    `    if (list) list.push(row);`,
    `    else byKey.set(String(${row}), [row]);`,
    `  }`,
    `  return keys.map((key) => byKey.get(String(key)) ?? []);`,
    `}`,
  ].join('\n');
  return { keyColumn: column, keyParameter: key, batchedSql, orderRestoringMap, loaderCall, loaderUnavailableReason };
}
