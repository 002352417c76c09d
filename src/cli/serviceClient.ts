import { ConnectionError, UsageError } from '../errors.js';

/**
 * Reads one JSON report of a running qopt service (`qopt serve`): what `qopt top|slow|alerts
 * --service URL` show, since a CLI process only sees its own executions. The report endpoints need
 * no token.
 */
export async function fetchServiceReport<T>(serviceUrl: string, path: string): Promise<T> {
  const url = new URL(`/api/v1${path}`, serviceUrl);
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new ConnectionError(`the qopt service at ${url.origin}`, (error as { cause?: unknown }).cause ?? error);
  }
  const text = await response.text();
  if (!response.ok) throw new UsageError(`the qopt service at ${url.origin} answered ${response.status} to GET ${url.pathname}: ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UsageError(`the qopt service at ${url.origin} answered GET ${url.pathname} with something that is not JSON (is it a qopt service?)`);
  }
}

/** `--service URL`: a base URL such as http://127.0.0.1:8080. */
export function serviceUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--service expects the service's base URL, such as http://127.0.0.1:8080 (got ${value})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--service expects an http:// or https:// URL (got ${value})`);
  return url.origin;
}
