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
 * The capabilities whose endpoints this service build has wired. The cache and executor endpoints
 * read the optimizer directly; the monitor, analyzer/rewrite and advisor endpoints are not wired yet.
 */
export function capabilitiesOf(_qo: Optimizer): CapabilitySet {
  return { cache: true, executor: true, monitor: false, rewrite: false, analyzer: false, advisor: false };
}
