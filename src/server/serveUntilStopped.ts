import { randomBytes } from 'node:crypto';
import type { Optimizer } from '../optimizer.js';
import { startServer } from './app.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Options of a foreground service (`qopt serve`, `qopt demo --serve`). */
export interface ForegroundOptions {
  host?: string;
  port?: number;
  /** Print a line for the person who started it. */
  log(message: string): void;
}

/** Starts the service and resolves once SIGINT or SIGTERM stopped it (the optimizer stays the caller's to close). */
export async function serveUntilStopped(qo: Optimizer, options: ForegroundOptions): Promise<void> {
  const server = await startServer(qo, { host: options.host, port: options.port });
  const host = options.host ?? qo.config.server.host;
  options.log(`qopt service on ${server.url} — dashboard ${server.url}/ · API ${server.url}/api/v1/openapi.json · metrics ${server.url}/metrics`);
  if (!qo.config.server.apiToken) options.log('no QOPT_API_TOKEN set: endpoints that change state or run SQL answer 401 until one is configured');
  if (!LOOPBACK.has(host)) options.log(`warning: listening on ${host}, reachable from other machines`);
  options.log('press Ctrl+C to stop');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

/** A random token for a throwaway service (the demo), printed once to whoever started it. */
export function randomApiToken(): string {
  return randomBytes(18).toString('base64url');
}
