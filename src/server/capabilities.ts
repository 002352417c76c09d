import type { Optimizer } from '../optimizer.js';
import { CapabilityUnavailableError } from './errors.js';

/** The capabilities whose endpoints this service exposes, and whether this build has each. */
export type CapabilityName = 'cache' | 'executor' | 'monitor' | 'rewrite' | 'analyzer' | 'advisor';

/** Which capabilities the optimizer brings; endpoints of the missing ones answer 501. */
export type CapabilitySet = Readonly<Record<CapabilityName, boolean>>;

/** Throws the 501 of an endpoint whose capability this build lacks. */
export function unavailable(capability: CapabilityName): never {
  throw new CapabilityUnavailableError(capability);
}

/**
 * The capabilities this service exposes. Every one is part of the optimizer, so all are present; the
 * cache's endpoints answer 501 when the optimizer runs with the cache disabled.
 */
export function capabilitiesOf(qo: Optimizer): CapabilitySet {
  return { cache: qo.config.cache.enabled, executor: true, monitor: true, rewrite: true, analyzer: true, advisor: true };
}
