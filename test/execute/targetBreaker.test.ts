import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../src/execute/errors.js';
import { TargetBreaker } from '../../src/execute/targetBreaker.js';

const targetDown = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const badStatement = () => Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
const fail = (error: Error) => () => Promise.reject(error);
const ok = <T>(value: T) => () => Promise.resolve(value);

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('TargetBreaker', () => {
  it('opens after `threshold` consecutive target failures, and a success in between resets the count', async () => {
    const breaker = new TargetBreaker('db', { threshold: 3, halfOpenAfterMs: 60_000 });
    for (let round = 0; round < 3; round += 1) {
      await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
      await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
      await expect(breaker.execute(ok(round))).resolves.toBe(round);
    }
    expect(breaker.state).toBe('closed');
    for (let failure = 0; failure < 3; failure += 1) await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('open');
    expect(breaker.openedCount).toBe(1);
    await expect(breaker.execute(ok(1))).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('does not count failures of the statement (a syntax error says nothing of the target)', async () => {
    const breaker = new TargetBreaker('db', { threshold: 2, halfOpenAfterMs: 60_000 });
    for (let failure = 0; failure < 5; failure += 1) await expect(breaker.execute(fail(badStatement()))).rejects.toThrow('syntax error');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    await expect(breaker.execute(fail(badStatement()))).rejects.toThrow('syntax error');
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('open');
  });

  it('hands a call that started before the breaker opened its own outcome, not CircuitOpenError', async () => {
    const breaker = new TargetBreaker('db', { threshold: 2, halfOpenAfterMs: 60_000 });
    const slowSuccess = deferred<string>();
    const slowFailure = deferred<string>();
    const succeeding = breaker.execute(() => slowSuccess.promise);
    const failing = breaker.execute(() => slowFailure.promise);
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('open');
    slowSuccess.resolve('rows');
    await expect(succeeding).resolves.toBe('rows');
    const late = Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    slowFailure.reject(late);
    await expect(failing).rejects.toBe(late);
  });

  it('a success that lands after a concurrent target failure resets the count, as the policy would', async () => {
    const breaker = new TargetBreaker('db', { threshold: 2, halfOpenAfterMs: 60_000 });
    const slow = deferred<string>();
    const running = breaker.execute(() => slow.promise);
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    slow.resolve('ok');
    await expect(running).resolves.toBe('ok');
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(fail(targetDown()))).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('open');
  });
});
