/**
 * Node.js process metrics (`process_*`, `nodejs_*`) for the controller and the reloader sidecar.
 *
 * The event-loop delay (`nodejs_eventloop_lag_*`) is sampled every 100 ms instead of prom-client's
 * default 10 ms: that sampling timer woke an idle process 100 times a second, which alone cost about
 * 0.8 % of a core (docs/performance.md, "Idle"). A stall still shows in full: the sample after it is
 * late by the whole stall.
 */
import { type Registry, collectDefaultMetrics } from 'prom-client';

export const EVENT_LOOP_SAMPLE_MS = 100;

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}
