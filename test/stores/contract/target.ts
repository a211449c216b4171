import type { SecretStore, StoreObserver } from '../../../src/stores/store.js';

/** Direct SDK access that bypasses our store: set up conflicts, drift, inspect state. */
export interface OutOfBand {
  createUnmanaged(name: string, value: string): Promise<void>;
  /** Current (latest enabled) value, undefined if absent. */
  readValue(name: string): Promise<string | undefined>;
  /** Undefined if absent. */
  isEnabled(name: string): Promise<boolean | undefined>;
  exists(name: string): Promise<boolean>;
  /** Undefined when the store has no versions. */
  versionCount(name: string): Promise<number | undefined>;
  /** Simulate a change made outside Git (drift). */
  setValue(name: string, value: string): Promise<void>;
}

export interface StoreUnderTest {
  store: SecretStore;
  outOfBand: OutOfBand;
  calls: { writes(): number; reads(): number; reset(): void };
}

export interface StoreTarget {
  /** e.g. 'aws-secrets-manager' */
  name: string;
  /** True when the peer is a fake written from the API reference. */
  fake?: boolean;
  /** newStore: isolated namespace/prefix per test. */
  start(): Promise<{
    newStore(opts: { observer?: StoreObserver }): Promise<StoreUnderTest>;
    stop(): Promise<void>;
  }>;
}
