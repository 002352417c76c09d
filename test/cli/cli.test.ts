import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';

// The tests run the built CLI exactly as a user would (`npm test` builds first).
const BIN = resolve(import.meta.dirname, '../../bin/qopt.js');

// Asynchronous on purpose: a test worker blocked in spawnSync cannot answer vitest's RPC, which gives
// up after 60 s ("Timeout calling onTaskUpdate") on a loaded machine.
function qopt(args: string[], cwd = mkdtempSync(join(tmpdir(), 'qopt-cli-')), env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; cwd: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env }, timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, cwd }));
  });
}

describe('qopt CLI', () => {
  it('is built', () => {
    expect(existsSync(BIN)).toBe(true);
  });

  it('prints help for the program and every command', async () => {
    const help = await qopt(['--help']);
    expect(help.code).toBe(0);
    const commands = ['demo', 'analyze', 'bench', 'load-workload', 'config'];
    for (const command of commands) expect(help.stdout).toContain(command);
    for (const command of commands) {
      const commandHelp = await qopt([command, '--help']);
      expect(commandHelp.code, command).toBe(0);
      expect(commandHelp.stdout, command).toContain(`Usage: qopt ${command}`);
    }
  });

  it('rejects an unknown command with one line naming it and a non-zero exit', async () => {
    const result = await qopt(['frobnicate']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')[0]).toBe("error: unknown command 'frobnicate'");
  });

  it('rejects an unknown option with one line naming it', async () => {
    const result = await qopt(['analyze', '--shiny', 'select 1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe("error: unknown option '--shiny'");
  });

  it('rejects a bad option value', async () => {
    const result = await qopt(['demo', '--scale', 'big']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--scale.*'big' is invalid/);
  });

  it('analyzes a statement as JSON: kind, fingerprint, tables, columns and predicates', async () => {
    const result = await qopt(['analyze', '--json', 'SELECT p.close FROM prices p JOIN symbols s ON s.symbol = p.symbol WHERE s.sector = $1 AND p.date >= $2']);
    expect(result.code).toBe(0);
    const analysis = JSON.parse(result.stdout);
    expect(analysis.kind).toBe('read');
    expect(analysis.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(analysis.readTables.sort()).toEqual(['prices', 'symbols']);
    const statement = analysis.statements[0];
    expect(statement.columns.prices.sort()).toEqual(['close', 'date', 'symbol']);
    expect(statement.predicates).toContainEqual({ table: 'symbols', column: 'sector', op: '=', value: { kind: 'parameter', index: 1 } });
    expect(statement.ast).toBeUndefined();
  });

  it('prints a readable analysis without --json', async () => {
    const result = await qopt(['analyze', 'update users set role = $1 where id = $2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('kind:        write');
    expect(result.stdout).toContain('writes:      users: role');
  });

  it('exits non-zero on a syntax error with line, column and caret', async () => {
    const result = await qopt(['analyze', 'select *\nfrom t\nwhere a = = 1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('syntax error at or near "=" at line 3, column 11');
    expect(result.stderr).toContain('3 | where a = = 1\n  |           ^');
  });

  it('runs `bench sql --quick` and writes bench/results/sql.json', async () => {
    const result = await qopt(['bench', 'sql', '--quick', '--runs', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('analyzeSql, memoized');
    const written = JSON.parse(readFileSync(join(result.cwd, 'bench', 'results', 'sql.json'), 'utf8'));
    expect(Object.keys(written.figures).sort()).toEqual(['bare_parse_us', 'cold_analyze_us', 'memoized_analyze_us']);
    expect(written.figures.memoized_analyze_us.median).toBeGreaterThan(0);
  });

  it('prints the effective configuration with the seed flag names, and rejects a bad value naming it', async () => {
    const ok = await qopt(['config', '--json'], undefined, { L1_CACHE_SIZE_MB: '64', QOPT_API_TOKEN: 'secret-token' });
    expect(ok.code).toBe(0);
    const config = JSON.parse(ok.stdout);
    expect(config.cache.l1SizeMb).toBe(64);
    expect(config.server.apiToken).toBe('***');
    const bad = await qopt(['config'], undefined, { MAX_CONCURRENT_QUERIES: 'many' });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('qopt: invalid value for MAX_CONCURRENT_QUERIES: "many" (expected an integer)');
  });

  it('names the known benchmarks when asked for an unknown one', async () => {
    const result = await qopt(['bench', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown benchmark "nope" \(known: sql/);
  });

  it('runs the demo on an in-memory embedded database', async () => {
    const result = await qopt(['demo', '--database', 'memory:', '--scale', '0.01', '--iterations', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Queries by total time');
    expect(result.stdout).toMatch(/latest_cells\s+2\s/);
    expect(result.stdout).toContain('p95 ms');
  });
});

describe('qopt load --url (closed-loop HTTP load on a running service)', () => {
  let server: Server;
  let base: string;
  let served = 0;
  const seen = { authorization: '', contentType: '', body: '' };

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        served += 1;
        seen.authorization = request.headers.authorization ?? '';
        seen.contentType = request.headers['content-type'] ?? '';
        seen.body = body;
        if (request.url === '/limited') return void response.writeHead(429).end('slow down');
        response.setHeader('content-type', 'application/json');
        response.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('POSTs the body with the bearer token and reports every answer it counted', async () => {
    served = 0;
    const result = await qopt(['load', '--url', `${base}/api/v1/query`, '--body', '{"sql":"SELECT 1"}', '--token', 'a-token-123', '--connections', '2', '--duration', '0.5', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { requests: number; failures: number; statuses: Record<string, number>; p50Ms: number; p99Ms: number };
    expect(report.requests).toBeGreaterThan(0);
    expect(report.requests).toBe(served);
    expect(report.statuses).toEqual({ 200: report.requests });
    expect(report.p99Ms).toBeGreaterThanOrEqual(report.p50Ms);
    expect(seen).toEqual({ authorization: 'Bearer a-token-123', contentType: 'application/json', body: '{"sql":"SELECT 1"}' });
  });

  it('exits non-zero and names the rate limit when every answer is a 429', async () => {
    const result = await qopt(['load', '--url', `${base}/limited`, '--connections', '1', '--duration', '0.3']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/by status: 429 \d+/);
    expect(result.stderr).toContain('QOPT_RATE_LIMIT_PER_MINUTE');
  });

  it('names the address it could not reach, and refuses https:// and a body that is not JSON', async () => {
    const refused = await qopt(['load', '--url', 'http://127.0.0.1:1/', '--duration', '0.2']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^qopt: cannot connect to 127\.0\.0\.1:1: .*ECONNREFUSED/);
    const https = await qopt(['load', '--url', 'https://example.com/']);
    expect(https.code).not.toBe(0);
    expect(https.stderr).toContain('only http:// URLs');
    const body = await qopt(['load', '--url', `${base}/`, '--body', 'not json', '--duration', '0.2']);
    expect(body.code).not.toBe(0);
    expect(body.stderr).toContain('--body must be JSON');
  });
});

describe('qopt CLI against the real server', () => {
  let schema: TestSchema;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_cli');
  });

  afterAll(async () => {
    await schema.drop();
  });

  it('runs `qopt demo --workload market --scale 0.01 --database postgres://…`', async () => {
    const result = await qopt(['demo', '--workload', 'market', '--scale', '0.01', '--iterations', '3', '--database', schema.url, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.workload).toBe('market');
    expect(report.database).toMatch(/^postgres:\/\//);
    const queries = report.sections.find((section: { id: string }) => section.id === 'queries').data;
    const names = queries.map((entry: { name: string }) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['symbol_lookup', 'price_history', 'sector_aggregation', 'closing_prices_n_plus_one']));
    const loop = queries.find((entry: { name: string }) => entry.name === 'closing_prices_n_plus_one');
    expect(loop.calls).toBe(20);
  });

  it('loads a workload with load-workload and reports the rows', async () => {
    const result = await qopt(['load-workload', 'etl', '--scale', '0.01', '--database', schema.url, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).rows.pipeline_executions).toBe(20_000);
    expect(result.stderr).toContain('loaded pipeline_executions: 20,000 rows');
  });
});
