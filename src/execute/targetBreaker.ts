import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, IsolatedCircuitError } from 'cockatiel';
import type { CircuitBreakerPolicy } from 'cockatiel';
import { CircuitOpenError } from './errors.js';
import { isTargetFailure } from './transientErrors.js';

/** The states a target's breaker reports to the monitor. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * A cockatiel circuit breaker for one target. Only failures of the target itself (cannot connect,
 * connection lost) count: a syntax error or a constraint violation says nothing about its health.
 */
export class TargetBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private opened = 0;
  // No failure counted since the last success: a success would change nothing in the policy then.
  private clean = true;

  constructor(
    readonly target: string,
    options: { threshold: number; halfOpenAfterMs: number },
  ) {
    this.policy = circuitBreaker(handleWhen(isTargetFailure), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.threshold),
    });
    this.policy.onBreak(() => {
      this.opened += 1;
    });
  }

  /** Runs `work` unless the breaker is open (then CircuitOpenError at once). */
  execute<T>(work: () => Promise<T>): Promise<T> {
    if (!this.healthy) return this.throughPolicy(work);
    return work().then(
      (value) => {
        this.noteSuccess();
        return value;
      },
      (error: unknown) => {
        this.noteFailure(error);
        throw error;
      },
    );
  }

  /**
   * True while the policy is closed with no failure counted since the last success: a caller may then
   * run its work directly and report the outcome with `noteSuccess` / `noteFailure` (the executor's
   * hot path does, saving a promise layer per statement).
   */
  get healthy(): boolean {
    return this.clean && this.policy.state === CircuitState.Closed;
  }

  /** The outcome of work run directly while healthy: a success. */
  noteSuccess(): void {
    // Outcomes that arrive once the policy has left the closed state change nothing in it.
    if (this.clean || this.policy.state !== CircuitState.Closed) return;
    void this.throughPolicy(() => Promise.resolve());
  }

  /** The outcome of work run directly while healthy: a failure (counted when it is the target's). */
  noteFailure(error: unknown): void {
    if (!isTargetFailure(error) || this.policy.state !== CircuitState.Closed) return;
    this.clean = false;
    this.throughPolicy(() => Promise.reject(error as Error)).catch(() => undefined);
  }

  private throughPolicy<T>(work: () => Promise<T>): Promise<T> {
    return this.policy.execute(work).then(
      (value) => {
        if (this.policy.state === CircuitState.Closed) this.clean = true;
        return value;
      },
      (error: unknown) => {
        if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) throw new CircuitOpenError(this.target, error);
        throw error;
      },
    );
  }

  /** The current state. */
  get state(): BreakerState {
    return STATE_NAMES[this.policy.state];
  }

  /** True when a call would be refused right now (open and not yet due for a probe). */
  get refusing(): boolean {
    return this.policy.state === CircuitState.Open || this.policy.state === CircuitState.Isolated;
  }

  /** How many times it has opened. */
  get openedCount(): number {
    return this.opened;
  }
}
