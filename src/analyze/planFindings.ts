import type { ExplainResult, PlanNode } from '../db/driver.js';
import { planNodes } from '../db/explain.js';

/** A problem seen in an EXPLAIN plan, naming the node and the change that helps. */
export interface PlanFinding {
  id: string;
  /** `Seq Scan on cells`, `Sort`, … */
  node: string;
  detail: string;
  fix: string;
}

/** Estimated and actual rows differing by at least this factor is a misestimate. */
const MISESTIMATE_FACTOR = 10;
/** …and differing by at least this many rows (1 vs 16 is noise). */
const MISESTIMATE_MIN_ROWS = 100;
/** Misestimates are reported where they start: at the scans, not at every node above them. */
const SCAN_NODES = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'CTE Scan', 'Function Scan', 'Subquery Scan']);
/** A scan whose filter removes at least this share of the rows it read. */
const FILTERED_SHARE = 0.9;
/** …and removed at least this many rows (small tables are fine to scan). */
const FILTERED_MIN_ROWS = 1000;
/** A nested loop whose inner side runs at least this many times. */
const MANY_LOOPS = 1000;
/** Planning time above this share of the total is "dominating". */
const PLANNING_SHARE = 0.5;

function label(node: PlanNode): string {
  const relation = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  const index = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  return `${node['Node Type']}${relation}${index}`;
}

function num(node: PlanNode, key: string): number {
  const value = node[key];
  return typeof value === 'number' ? value : 0;
}

type NodeCheck = (node: PlanNode) => PlanFinding | undefined;

const nodeChecks: NodeCheck[] = [
  (node) => {
    if (node['Actual Rows'] === undefined || !SCAN_NODES.has(node['Node Type'])) return undefined;
    const actual = Math.max(1, node['Actual Rows'] * Math.max(1, node['Actual Loops'] ?? 1));
    const estimated = Math.max(1, node['Plan Rows'] * Math.max(1, node['Actual Loops'] ?? 1));
    const factor = Math.max(actual / estimated, estimated / actual);
    if (factor < MISESTIMATE_FACTOR || Math.abs(actual - estimated) < MISESTIMATE_MIN_ROWS) return undefined;
    return { id: 'row-misestimate', node: label(node), detail: `estimated ${Math.round(estimated)} rows, got ${Math.round(actual)} (${factor.toFixed(0)}×)`, fix: 'Run ANALYZE on the table; for correlated columns CREATE STATISTICS (dependencies, mcv); raise the column statistics target.' };
  },
  (node) => {
    if (node['Node Type'] !== 'Seq Scan') return undefined;
    const removed = num(node, 'Rows Removed by Filter') * Math.max(1, node['Actual Loops'] ?? 1);
    const kept = (node['Actual Rows'] ?? 0) * Math.max(1, node['Actual Loops'] ?? 1);
    if (removed < FILTERED_MIN_ROWS || removed / (removed + kept) < FILTERED_SHARE) return undefined;
    return { id: 'seq-scan-filter', node: label(node), detail: `read ${removed + kept} rows to keep ${kept} (filter: ${String(node.Filter ?? '?')})`, fix: 'An index on the filtered columns (qopt advise proposes one).' };
  },
  (node) => {
    const method = String(node['Sort Method'] ?? '');
    const spilled = method.includes('external') || num(node, 'Temp Written Blocks') > 0 || num(node, 'HashAgg Batches') > 1 || num(node, 'Hash Batches') > 1;
    if (!spilled || !['Sort', 'Hash', 'HashAggregate', 'Aggregate', 'Incremental Sort'].includes(node['Node Type'])) return undefined;
    return { id: 'spill-to-disk', node: label(node), detail: `spilled to disk (${method || `${Math.max(num(node, 'Hash Batches'), num(node, 'HashAgg Batches'))} batches`})`, fix: 'Raise work_mem for this query (SET LOCAL work_mem), or give it an index that delivers the order.' };
  },
  (node) => {
    if (node['Node Type'] !== 'Nested Loop') return undefined;
    const inner = node.Plans?.[1];
    const loops = inner?.['Actual Loops'] ?? 0;
    if (loops < MANY_LOOPS) return undefined;
    return { id: 'nested-loop-many', node: label(node), detail: `inner side ${inner ? label(inner) : ''} ran ${loops} times`, fix: 'Index the inner join key, or let a hash join run (check the row estimate of the outer side).' };
  },
  (node) => {
    const lossy = num(node, 'Lossy Heap Blocks');
    if (lossy === 0) return undefined;
    return { id: 'lossy-bitmap', node: label(node), detail: `${lossy} lossy heap blocks (every row of them rechecked)`, fix: 'Raise work_mem so the bitmap stays exact, or use a more selective index.' };
  },
  (node) => {
    const fetches = num(node, 'Heap Fetches');
    if (node['Node Type'] !== 'Index Only Scan' || fetches === 0) return undefined;
    return { id: 'heap-fetches', node: label(node), detail: `${fetches} heap fetches in an index-only scan`, fix: 'VACUUM the table so the visibility map is current (or tune autovacuum).' };
  },
];

/** The findings of one EXPLAIN result (actual-row checks need ANALYZE). */
export function planFindings(explain: ExplainResult): PlanFinding[] {
  const findings: PlanFinding[] = [];
  for (const node of planNodes(explain.plan)) {
    for (const check of nodeChecks) {
      const finding = check(node);
      if (finding) findings.push(finding);
    }
  }
  const planning = explain.planningTimeMs;
  const execution = explain.executionTimeMs;
  if (planning !== null && execution !== null && planning / (planning + execution) > PLANNING_SHARE) {
    findings.push({ id: 'planning-dominates', node: 'the statement', detail: `planning ${planning.toFixed(2)} ms vs execution ${execution.toFixed(2)} ms`, fix: 'Prepare the statement once (named prepared statement) so the plan is reused, or simplify the query (fewer joins, shorter IN lists).' });
  }
  return findings;
}
