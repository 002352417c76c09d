import { spawn, spawnSync } from 'node:child_process';
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

  it('ships what `qopt serve` reads at run time: the built code, the CLI and the dashboard page', async () => {
    // Asynchronous: npm takes seconds, and a worker blocked in spawnSync cannot answer vitest's RPC.
    const output = await new Promise<string>((resolveOutput, reject) => {
      const child = spawn('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolveOutput(stdout) : reject(new Error(`npm pack exited with ${code}`))));
    });
    const files = new Set((JSON.parse(output) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path));
    for (const path of ['dist/src/index.js', 'dist/src/server/dashboardAssets.js', 'bin/qopt.js', 'src/server/dashboard/index.html', 'src/server/dashboard/app.js', 'src/server/dashboard/app.css']) {
      expect(files.has(path), path).toBe(true);
    }
  });
});
