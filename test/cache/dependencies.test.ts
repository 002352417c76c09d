import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/sql/analyze.js';
import { readDependencies } from '../../src/cache/dependencies.js';
import { counterLayoutOf, snapshotFromCounters, snapshotOf } from '../../src/cache/generations.js';

describe('readDependencies', () => {
  it('builds the dependencies of a read its parameters cannot change once, frozen', () => {
    const analysis = analyzeSql('SELECT id, label FROM dep_rows WHERE id <= $1 ORDER BY id');
    const first = readDependencies(analysis, [10]);
    expect(readDependencies(analysis, [20])).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.map((ref) => ref.add)).toEqual(['all', 'r:dep_rows', 'c:dep_rows:id', 'c:dep_rows:label']);
  });

  it('builds them per call when a parameter scopes the rows', () => {
    const byId = analyzeSql('SELECT label FROM dep_rows WHERE id = $1');
    expect(readDependencies(byId, [5]).map((ref) => ref.add)).toContain('v:dep_rows:id:5');
    expect(readDependencies(byId, [7]).map((ref) => ref.add)).toContain('v:dep_rows:id:7');
    const byIds = analyzeSql('SELECT label FROM dep_rows WHERE id = ANY($1)');
    expect(readDependencies(byIds, [[1, 2]]).map((ref) => ref.add)).toEqual(expect.arrayContaining(['v:dep_rows:id:1', 'v:dep_rows:id:2']));
    expect(readDependencies(byIds, [[3]]).map((ref) => ref.add)).toContain('v:dep_rows:id:3');
  });

  it('never reuses the untagged dependencies for a tagged read', () => {
    const analysis = analyzeSql('SELECT label FROM dep_rows');
    readDependencies(analysis, []);
    expect(readDependencies(analysis, [], ['reports']).map((ref) => ref.add)).toContain('g:reports');
    expect(readDependencies(analysis, []).map((ref) => ref.add)).not.toContain('g:reports');
  });
});

describe('counter layouts', () => {
  it('gives the same snapshot as reading each counter by name', () => {
    const refs = [{ add: 'all' }, { add: 't:a', sub: 's:a:id' }, { add: 'v:a:id:1' }, { add: 's:a:id' }];
    const layout = counterLayoutOf(refs);
    expect([...layout.fields].sort()).toEqual(['all', 's:a:id', 't:a', 'v:a:id:1']);
    expect(counterLayoutOf(refs)).toBe(layout);
    const values: Record<string, number> = { all: 3, 't:a': 10, 's:a:id': 4, 'v:a:id:1': 2 };
    const counters = layout.fields.map((field) => values[field]!);
    expect(snapshotFromCounters(layout, counters)).toEqual(snapshotOf(refs, (name) => values[name] ?? 0));
    expect(snapshotFromCounters(layout, counters)).toEqual([3, 6, 2, 4]);
  });
});
