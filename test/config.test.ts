import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

describe('loadConfig', () => {
  it('gives the documented defaults with no input and no environment', () => {
    const config = loadConfig({}, {});
    expect(config.cache.l1SizeMb).toBe(512);
    expect(config.monitor.slowQueryThresholdMs).toBe(1000);
    expect(config.executor.maxConcurrentQueries).toBe(100);
    expect(config.executor.queryTimeoutSeconds).toBe(300);
    expect(config.quotas.queriesPerHour).toBe(1000);
    expect(config.optimization.automaticRewriting).toBe(false);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.database.url).toBeUndefined();
  });

  it("maps the seed's flag names onto the schema", () => {
    const config = loadConfig({}, {
      QUERY_OPTIMIZATION_ENABLED: 'false',
      L1_CACHE_SIZE_MB: '64',
      SLOW_QUERY_THRESHOLD_MS: '250',
      MAX_CONCURRENT_QUERIES: '12',
      ENABLE_AUTOMATIC_QUERY_REWRITING: 'true',
      DEFAULT_USER_CONCURRENT_QUERIES: '3',
      DATABASE_URL: 'postgres://u@h/db',
    });
    expect(config.optimization.enabled).toBe(false);
    expect(config.cache.l1SizeMb).toBe(64);
    expect(config.monitor.slowQueryThresholdMs).toBe(250);
    expect(config.executor.maxConcurrentQueries).toBe(12);
    expect(config.optimization.automaticRewriting).toBe(true);
    expect(config.quotas.concurrentQueries).toBe(3);
    expect(config.database.url).toBe('postgres://u@h/db');
  });

  it('prefers QOPT_* variables over the seed names, and explicit input over both', () => {
    const env = { QOPT_L1_CACHE_SIZE_MB: '32', L1_CACHE_SIZE_MB: '64' };
    expect(loadConfig({}, env).cache.l1SizeMb).toBe(32);
    expect(loadConfig({ cache: { l1SizeMb: 16 } }, env).cache.l1SizeMb).toBe(16);
  });

  it('rejects a non-boolean flag naming the variable, the value and what is allowed', () => {
    const error = captureError(() => loadConfig({}, { ENABLE_MULTI_LEVEL_CACHING: 'maybe' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.option).toBe('ENABLE_MULTI_LEVEL_CACHING');
    expect(error.value).toBe('maybe');
    expect(error.message).toContain('true/false');
  });

  it('rejects a non-numeric environment value', () => {
    const error = captureError(() => loadConfig({}, { MAX_CONCURRENT_QUERIES: 'lots' }));
    expect(error.option).toBe('MAX_CONCURRENT_QUERIES');
    expect(error.message).toContain('"lots"');
  });

  it('rejects a fractional value for an integer option', () => {
    const error = captureError(() => loadConfig({}, { QOPT_MAX_CONCURRENT_QUERIES: '2.5' }));
    expect(error.option).toBe('QOPT_MAX_CONCURRENT_QUERIES');
  });

  it('names the environment variable when its value is out of range', () => {
    const error = captureError(() => loadConfig({}, { MAX_CONCURRENT_QUERIES: '0' }));
    expect(error.option).toBe('MAX_CONCURRENT_QUERIES');
    expect(error.value).toBe(0);
    expect(error.allowed).toMatch(/>=\s*1/);
  });

  it('names the option path when an explicit value is out of range', () => {
    const error = captureError(() => loadConfig({ optimization: { level: 7 } }, {}));
    expect(error.option).toBe('optimization.level');
    expect(error.value).toBe(7);
    expect(error.allowed).toMatch(/<=\s*3/);
  });

  it('rejects an unknown option instead of ignoring a typo', () => {
    const error = captureError(() => loadConfig({ cache: { l1SizeMB: 5 } } as never, {}));
    expect(error.option).toBe('cache');
    expect(error.allowed).toContain('l1SizeMB');
  });

  it('rejects a wrongly typed explicit value', () => {
    const error = captureError(() => loadConfig({ server: { port: 'eighty' } } as never, {}));
    expect(error.option).toBe('server.port');
  });
});

function captureError(work: () => unknown): ConfigError {
  try {
    work();
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}
