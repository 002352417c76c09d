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

/** The distinct counters some refs read, and where each ref's counters sit among them. */
export interface CounterLayout {
  readonly fields: readonly string[];
  readonly add: readonly number[];
  /** -1: the ref has no `sub` counter. */
  readonly sub: readonly number[];
}

const layouts = new WeakMap<readonly GenerationRef[], CounterLayout>();

/** The layout of `refs` (memoized per refs array: a read's refs are built once per statement where they can be). */
export function counterLayoutOf(refs: readonly GenerationRef[]): CounterLayout {
  let layout = layouts.get(refs);
  if (layout !== undefined) return layout;
  const fields: string[] = [];
  const position = new Map<string, number>();
  const indexOf = (name: string): number => {
    let index = position.get(name);
    if (index === undefined) {
      index = fields.push(name) - 1;
      position.set(name, index);
    }
    return index;
  };
  const add = refs.map((ref) => indexOf(ref.add));
  const sub = refs.map((ref) => (ref.sub === undefined ? -1 : indexOf(ref.sub)));
  layout = { fields, add, sub };
  layouts.set(refs, layout);
  return layout;
}

/** The snapshot of a layout's refs from its counters' values (in `layout.fields` order). */
export function snapshotFromCounters(layout: CounterLayout, counters: readonly number[]): GenerationSnapshot {
  const out = new Array<number>(layout.add.length);
  for (let i = 0; i < out.length; i += 1) {
    const sub = layout.sub[i]!;
    out[i] = (counters[layout.add[i]!] ?? 0) - (sub < 0 ? 0 : (counters[sub] ?? 0));
  }
  return out;
}
