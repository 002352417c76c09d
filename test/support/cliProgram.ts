import { vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

/** Runs the CLI program in this process (as `qopt …args`) and returns what it wrote to stdout. */
export async function runCli(args: string[]): Promise<string> {
  const chunks: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'qopt', ...args]);
  } finally {
    write.mockRestore();
  }
  return chunks.join('');
}
