import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

/** Parses a positive number option, with commander's one-line error otherwise. */
export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number');
  return number;
}

/** Parses a positive integer option. */
export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('expected a positive integer');
  return number;
}

/** Adds `--database URL` (default: DATABASE_URL, else the embedded PGlite under .qopt/). */
export function withDatabaseOption(command: Command): Command {
  return command.option('--database <url>', 'postgres://…, pglite:./dir or memory: (default: $DATABASE_URL, else embedded PGlite in .qopt/)');
}

/** The database URL a command should use. */
export function databaseUrlOf(options: { database?: string }): string | undefined {
  return options.database ?? process.env.QOPT_DATABASE_URL ?? process.env.DATABASE_URL ?? undefined;
}

/** Writes a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
