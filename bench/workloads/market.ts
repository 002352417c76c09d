import { hashMod } from './workload.js';
import type { Workload } from './workload.js';

const TRADING_DAYS = 2500;
const SYMBOLS_AT_SCALE_1 = 2000;
const SECTORS = ['Technology', 'Healthcare', 'Financials', 'Energy', 'Utilities', 'Industrials', 'Materials', 'Real Estate', 'Consumer Staples', 'Consumer Discretionary', 'Communication'];
const FIRST_DAY = '2015-01-01';

function symbolName(index: number): string {
  return `S${String(index).padStart(5, '0')}`;
}

function isoDay(offset: number): string {
  const date = new Date(`${FIRST_DAY}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + offset);
  return date.toISOString().slice(0, 10);
}

/** market-data-task7-plan.md: symbols and daily prices; lookups, history, sector aggregates and the N+1 loop. */
export const marketWorkload: Workload = {
  name: 'market',
  description: 'Market data: symbols and daily prices, symbol lookups, history ranges, sector aggregates, an N+1 loop',
  seed: 'market-data-task7-plan.md',
  tables: ['symbols', 'prices'],
  schemaSql: `
    CREATE TABLE symbols (
      id bigint PRIMARY KEY, symbol text NOT NULL, name text NOT NULL, sector text NOT NULL,
      industry text NOT NULL, exchange text NOT NULL, market_cap bigint NOT NULL
    );
    CREATE TABLE prices (
      id bigint PRIMARY KEY, symbol text NOT NULL, date date NOT NULL, open numeric(12,4) NOT NULL,
      high numeric(12,4) NOT NULL, low numeric(12,4) NOT NULL, close numeric(12,4) NOT NULL, volume bigint NOT NULL
    );`,
  seedIndexes: [
    'CREATE INDEX idx_symbols_symbol ON symbols (symbol)',
    'CREATE INDEX idx_symbols_sector ON symbols (sector)',
    'CREATE INDEX idx_prices_symbol_date ON prices (symbol, date)',
    'CREATE INDEX idx_prices_date ON prices (date)',
  ],
  sizes(scale) {
    const symbols = Math.max(20, Math.round(SYMBOLS_AT_SCALE_1 * scale));
    return { symbols, prices: symbols * TRADING_DAYS };
  },
  generators(sizes) {
    const symbols = sizes.symbols!;
    const sectorList = `(ARRAY[${SECTORS.map((sector) => `'${sector}'`).join(', ')}])`;
    // Prices arrive day by day for every symbol, as a feed would insert them: the table is ordered by date.
    const symbolOf = `((i - 1) % ${symbols} + 1)`;
    const dayOf = `((i - 1) / ${symbols})`;
    const base = `(10 + ${hashMod(symbolOf, 31, 400)} + ${hashMod('i', 32, 1000)} / 100.0)`;
    return [
      {
        table: 'symbols',
        rows: symbols,
        sql: `INSERT INTO symbols
          SELECT i, 'S' || lpad(i::text, 5, '0'), 'Company ' || i, ${sectorList}[${hashMod('i', 33, SECTORS.length)} + 1],
                 'Industry ' || ${hashMod('i', 34, 60)}, (ARRAY['NYSE', 'NASDAQ', 'AMEX'])[${hashMod('i', 35, 3)} + 1],
                 (${hashMod('i', 36, 500000)} + 100) * 1000000
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
      {
        table: 'prices',
        rows: sizes.prices!,
        sql: `INSERT INTO prices
          SELECT i, 'S' || lpad(${symbolOf}::text, 5, '0'), date '${FIRST_DAY}' + ${dayOf}::int,
                 ${base}, ${base} * 1.02, ${base} * 0.98, ${base} * (0.99 + ${hashMod('i', 37, 200)} / 10000.0),
                 ${hashMod('i', 38, 10000000)} + 1000
          FROM generate_series($1::int8, $2::int8) AS i`,
      },
    ];
  },
  queries: [
    {
      name: 'symbol_lookup',
      description: 'One symbol by ticker',
      sql: 'SELECT * FROM symbols WHERE symbol = $1',
      params: (rng, sizes) => [symbolName(rng.int(1, sizes.symbols!))],
    },
    {
      name: 'price_history',
      description: 'Daily prices of a symbol over a quarter',
      sql: 'SELECT date, open, high, low, close, volume FROM prices WHERE symbol = $1 AND date BETWEEN $2 AND $3 ORDER BY date',
      params: (rng, sizes) => {
        const start = rng.int(0, TRADING_DAYS - 91);
        return [symbolName(rng.int(1, sizes.symbols!)), isoDay(start), isoDay(start + 90)];
      },
    },
    {
      name: 'sector_aggregation',
      description: 'Prices, mean close and volume per sector since a date',
      sql: `SELECT s.sector, count(*) AS prices, avg(p.close) AS avg_close, sum(p.volume) AS volume
FROM prices p JOIN symbols s ON s.symbol = p.symbol
WHERE p.date >= $1
GROUP BY s.sector
ORDER BY s.sector`,
      params: (rng) => [isoDay(rng.int(TRADING_DAYS - 250, TRADING_DAYS - 20))],
    },
    {
      name: 'sector_symbols',
      description: 'Symbol count per sector',
      sql: 'SELECT sector, count(*) AS symbols FROM symbols GROUP BY sector ORDER BY sector',
      params: () => [],
    },
  ],
  loops: [
    {
      name: 'closing_prices_n_plus_one',
      description: "One query per symbol for a day's close: the seed's N+1 loop",
      query: 'SELECT symbol, close FROM prices WHERE symbol = $1 AND date = $2',
      iterations: 100,
      params: (rng, sizes, iterations) => {
        const day = isoDay(rng.int(0, TRADING_DAYS - 1));
        const first = rng.int(1, Math.max(1, sizes.symbols! - iterations));
        return Array.from({ length: Math.min(iterations, sizes.symbols!) }, (_, k) => [symbolName(first + k), day]);
      },
    },
  ],
};
