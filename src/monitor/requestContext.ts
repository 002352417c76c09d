import { AsyncLocalStorage } from 'node:async_hooks';

/** One request (or job) that queries run inside; the N+1 detector counts fingerprints per context. */
export interface RequestContext {
  /** The name given to `qo.withContext` (a route or job name). */
  readonly name: string;
  readonly id: number;
  /** Per fingerprint: how many times it ran here, and its distinct parameter lists. */
  readonly counts: Map<string, { calls: number; distinct: Set<string>; reported: boolean; samples: unknown[][] }>;
}

/** Carries the current request context across awaits (AsyncLocalStorage), so the pipeline needs no extra argument. */
export class RequestContextStore {
  private readonly storage = new AsyncLocalStorage<RequestContext>();
  private nextId = 1;

  /** Runs `work` inside a new context named `name`. */
  run<T>(name: string, work: () => T): T {
    const context: RequestContext = { name, id: this.nextId++, counts: new Map() };
    return this.storage.run(context, work);
  }

  /** The context of the running code, if any. */
  current(): RequestContext | undefined {
    return this.storage.getStore();
  }
}
