import { ms, textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

const HIT_REPEATS = 200;

/** The result cache: hit ratio per tier during the run, and per workload query the cost of running it vs serving it from L1. */
export const cacheSection: DemoSection = {
  id: 'cache',
  title: 'Result cache: hit ratio per tier and time saved',
  async render({ qo, workload, exampleParams }) {
    if (!qo.cache.enabled) return null;
    const stats = qo.cache.stats();
    const tiers = [
      ['L1 memory', stats.l1] as const,
      ...(stats.l2 ? [['L2 Redis', stats.l2] as const] : []),
      ...(stats.l3 ? [['L3 files', stats.l3] as const] : []),
    ];
    const tierRows = tiers.map(([name, tier]) => [
      name,
      String(tier.hits),
      String(tier.misses),
      tier.hits + tier.misses === 0 ? '—' : `${((tier.hits / (tier.hits + tier.misses)) * 100).toFixed(1)} %`,
      String(tier.entries),
      String(tier.bytes),
    ]);
    const queries = [];
    for (const query of workload.queries) {
      const params = exampleParams.get(query.name);
      if (!params || !qo.analyze(query.sql).cacheable) continue;
      const runStarted = performance.now();
      await qo.query(query.sql, params, { cache: false });
      const runMs = performance.now() - runStarted;
      await qo.query(query.sql, params);
      const hitStarted = performance.now();
      for (let i = 0; i < HIT_REPEATS; i += 1) await qo.query(query.sql, params);
      const hitMs = (performance.now() - hitStarted) / HIT_REPEATS;
      queries.push({ name: query.name, runMs, hitMs, speedup: runMs / hitMs });
    }
    const queryRows = queries.map((q) => [q.name, ms(q.runMs), (q.hitMs * 1000).toFixed(1), `${Math.round(q.speedup).toLocaleString('en-US')}×`]);
    const text = [
      `During the run: ${(stats.hitRatio * 100).toFixed(1)} % of cacheable reads served from the cache, ${ms(stats.savedMs)} ms of database time saved, ${stats.storesRefused} stores refused because a write committed meanwhile.`,
      '',
      textTable(['tier', 'hits', 'misses', 'hit ratio', 'entries', 'bytes'], tierRows, new Set([0])),
      '',
      textTable(['query (example parameters)', 'run ms', 'L1 hit µs', 'speed-up'], queryRows, new Set([0])),
    ].join('\n');
    return { text, data: { stats: { ...stats, warnings: undefined }, queries } };
  },
};
