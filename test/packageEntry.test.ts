import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm test` builds first; this imports the package by its name, as a user's service would.
const ROOT = resolve(import.meta.dirname, '..');

describe('the package entry point', () => {
  it("resolves `import 'qopt'` to the built public API", () => {
    const script = "const qopt = await import('qopt'); console.log([typeof qopt.createOptimizer, typeof qopt.analyzeSql].join(','));";
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('function,function');
  });
});
