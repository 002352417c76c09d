import type { RewriteCandidate } from './rewriter.js';

/** What happened to one statement text under automatic rewriting. */
export interface AutoRewriteEvent {
  at: string;
  sql: string;
  action: 'applied' | 'reverted' | 'unproven';
  detail: string;
}

/** Options of automatic rewriting. */
export interface AutoRewriterOptions {
  /** A text is hot (and its rewrite is sought) after this many calls. */
  hotCalls: number;
  /** Rewritten calls measured before comparing medians (and reverting if slower). */
  compareCalls: number;
}

/** Defaults: a text is hot after 20 calls; 20 rewritten calls are measured before keeping or reverting. */
export const DEFAULT_AUTO_REWRITER_OPTIONS: AutoRewriterOptions = { hotCalls: 20, compareCalls: 20 };

type State = 'counting' | 'proving' | 'applied' | 'reverted' | 'unproven';

/** A statement whose rewrite was applied (and maybe reverted), with the latencies it was judged on. */
export interface AutoRewriteSummary {
  sql: string;
  rewrittenSql: string;
  rules: string[];
  state: 'applied' | 'reverted';
  /** Median latency of the original text (ms), over its recorded calls. */
  originalMedianMs: number | null;
  /** Median latency of the rewritten text (ms), over the calls of the last comparison. */
  rewrittenMedianMs: number | null;
}

interface Entry {
  state: State;
  calls: number;
  baseline: number[];
  measured: number[];
  /** Median of the rewritten calls at the last comparison. */
  lastRewrittenMedian: number | null;
  rewrite: RewriteCandidate | null;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Applies proven rewrites of hot statements transparently: counts calls per text, proves a rewrite in the
 * background once a text is hot, runs the rewrite afterwards, and reverts it for good if its measured
 * median latency is worse than the original's.
 */
export class AutoRewriter {
  readonly events: AutoRewriteEvent[] = [];
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Finds and proves the best rewrite of a statement (null when none is proven). */
    private readonly prove: (sql: string, params: readonly unknown[]) => Promise<RewriteCandidate | null>,
    private readonly options: AutoRewriterOptions,
  ) {}

  /** The text to run for this call: the proven rewrite when one is applied, else the original. */
  route(sql: string, params: readonly unknown[]): string {
    const entry = this.entries.get(sql) ?? { state: 'counting' as State, calls: 0, baseline: [], measured: [], lastRewrittenMedian: null, rewrite: null };
    this.entries.set(sql, entry);
    entry.calls += 1;
    if (entry.state === 'counting' && entry.calls >= this.options.hotCalls) {
      entry.state = 'proving';
      void this.proveInBackground(sql, params, entry);
    }
    return entry.state === 'applied' && entry.rewrite ? entry.rewrite.sql : sql;
  }

  /** Records how long a call took, and reverts an applied rewrite that measured slower. */
  observe(sql: string, ran: string, durationMs: number): void {
    const entry = this.entries.get(sql);
    if (!entry) return;
    if (ran === sql) {
      if (entry.baseline.length < this.options.compareCalls * 4) entry.baseline.push(durationMs);
      return;
    }
    entry.measured.push(durationMs);
    if (entry.measured.length < this.options.compareCalls) return;
    const before = median(entry.baseline);
    const after = median(entry.measured);
    entry.lastRewrittenMedian = after;
    if (after > before) this.revert(sql, `median ${after.toFixed(2)} ms rewritten vs ${before.toFixed(2)} ms original`);
    entry.measured = [];
  }

  private revert(sql: string, detail: string): void {
    const entry = this.entries.get(sql);
    if (!entry || entry.state !== 'applied') return;
    entry.state = 'reverted';
    this.events.push({ at: new Date().toISOString(), sql, action: 'reverted', detail });
  }

  /**
   * Runs one call: the rewrite when one is applied, else the original; measured. A rewrite that fails
   * (the schema changed since its proof, say) is reverted and the original runs instead.
   */
  async run<T>(sql: string, params: readonly unknown[], execute: (text: string) => Promise<T>): Promise<T> {
    const text = this.route(sql, params);
    const started = performance.now();
    try {
      const result = await execute(text);
      this.observe(sql, text, performance.now() - started);
      return result;
    } catch (error) {
      if (text === sql) throw error;
      this.revert(sql, `the rewrite failed: ${error instanceof Error ? error.message : String(error)}`);
      return execute(sql);
    }
  }

  /** Every statement whose rewrite was applied, with its measured medians (the dashboard's rewrites panel). */
  summaries(): AutoRewriteSummary[] {
    const summaries: AutoRewriteSummary[] = [];
    for (const [sql, entry] of this.entries) {
      if ((entry.state !== 'applied' && entry.state !== 'reverted') || !entry.rewrite) continue;
      const rewritten = entry.measured.length > 0 ? median(entry.measured) : entry.lastRewrittenMedian;
      summaries.push({
        sql,
        rewrittenSql: entry.rewrite.sql,
        rules: entry.rewrite.rules,
        state: entry.state,
        originalMedianMs: entry.baseline.length > 0 ? median(entry.baseline) : null,
        rewrittenMedianMs: rewritten,
      });
    }
    return summaries;
  }

  /** The rewrite currently applied to a text, if any. */
  appliedRewrite(sql: string): RewriteCandidate | null {
    const entry = this.entries.get(sql);
    return entry?.state === 'applied' ? entry.rewrite : null;
  }

  private async proveInBackground(sql: string, params: readonly unknown[], entry: Entry): Promise<void> {
    try {
      const rewrite = await this.prove(sql, params);
      // A rewrite that adds parameters needs callers to pass them: it cannot be applied transparently.
      if (rewrite && rewrite.params.length === params.length) {
        entry.rewrite = rewrite;
        entry.state = 'applied';
        this.events.push({ at: new Date().toISOString(), sql, action: 'applied', detail: `${rewrite.rules.join(' + ')}` });
        return;
      }
      entry.state = 'unproven';
      this.events.push({ at: new Date().toISOString(), sql, action: 'unproven', detail: 'no rewrite proven cheaper and equal' });
    } catch (error) {
      entry.state = 'unproven';
      this.events.push({ at: new Date().toISOString(), sql, action: 'unproven', detail: `proof failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
