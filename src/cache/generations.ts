import { randomUUID } from 'node:crypto';
import type { GenerationRef } from './dependencies.js';

/** The values of some dependencies, in the order of their refs. */
export type GenerationSnapshot = number[];

/** Values of refs given a lookup of counters. */
export function snapshotOf(refs: readonly GenerationRef[], counter: (name: string) => number): GenerationSnapshot {
  const out = new Array<number>(refs.length);
  for (let i = 0; i < refs.length; i += 1) {
    const ref = refs[i]!;
    out[i] = ref.sub === undefined ? counter(ref.add) : counter(ref.add) - counter(ref.sub);
  }
  return out;
}

/** True when two snapshots of the same refs are equal. */
export function sameSnapshot(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * This process's generation counters. `epoch` changes with every process, so an entry snapshotted
 * by another process (a persisted L3 entry from before a restart) never validates against it.
 */
export class LocalGenerations {
  readonly epoch = randomUUID();
  private readonly counters = new Map<string, number>();

  /** The current value of one counter (0 if never bumped). */
  value(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** The current values of refs. */
  snapshot(refs: readonly GenerationRef[]): GenerationSnapshot {
    return snapshotOf(refs, (name) => this.counters.get(name) ?? 0);
  }

  /** Increments counters: every entry depending on one of them becomes invalid. */
  bump(names: Iterable<string>): void {
    for (const name of names) this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  /** Counters tracked. */
  get size(): number {
    return this.counters.size;
  }
}
