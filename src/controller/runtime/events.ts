/**
 * Kubernetes Events on SecretManagerConfigs (docs/observability.md): one for every sync that changed the store and
 * one for every failure. A failure repeated with the same reason and message (a backoff retry)
 * updates the count of the existing Event instead of creating a new one, as client-go's
 * aggregation does. Messages are the value-free status messages.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '../../kube/client-node.js';
import { API_VERSION, KIND } from '../../api/index.js';
import { escapeControlCharacters } from '../../control-characters.js';
import type { Logger } from '../../observability/logger.js';

export const EVENT_COMPONENT = 'secret-manager-controller';

export interface EventTarget {
  namespace: string;
  name: string;
  uid?: string;
}

export interface SmcEvent {
  type: 'Normal' | 'Warning';
  /** CamelCase, e.g. `Synced`, `SopsMacMismatch`. */
  reason: string;
  message: string;
}

export class EventRecorder {
  private readonly core: CoreV1Api;
  /** Last Event per object: repeated identical events bump its count. */
  private readonly last = new Map<string, { key: string; name: string; count: number }>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
    private readonly instance: string,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Record an event; never throws (an Event is best effort). */
  async record(target: EventTarget, event: SmcEvent): Promise<void> {
    const objKey = `${target.namespace}/${target.name}`;
    const key = `${event.type}|${event.reason}|${event.message}`;
    const now = new Date().toISOString();
    const prev = this.last.get(objKey);
    try {
      if (prev && prev.key === key) {
        prev.count++;
        await this.core.patchNamespacedEvent({
          namespace: target.namespace,
          name: prev.name,
          body: [
            { op: 'replace', path: '/count', value: prev.count },
            { op: 'replace', path: '/lastTimestamp', value: now },
          ],
        });
        return;
      }
      const name = `${target.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
      const body: CoreV1Event = {
        metadata: { name, namespace: target.namespace },
        involvedObject: {
          apiVersion: API_VERSION,
          kind: KIND,
          name: target.name,
          namespace: target.namespace,
          uid: target.uid,
        },
        type: event.type,
        reason: event.reason,
        message: escapeControlCharacters(event.message).slice(0, 1024),
        source: { component: EVENT_COMPONENT },
        reportingComponent: EVENT_COMPONENT,
        reportingInstance: this.instance,
        firstTimestamp: new Date(now),
        lastTimestamp: new Date(now),
        count: 1,
      };
      await this.core.createNamespacedEvent({ namespace: target.namespace, body });
      this.last.set(objKey, { key, name, count: 1 });
    } catch (e) {
      this.last.delete(objKey);
      this.logger.warn(
        { smc: objKey, reason: event.reason, code: (e as { code?: number }).code },
        'event not recorded',
      );
    }
  }

  forget(target: EventTarget): void {
    this.last.delete(`${target.namespace}/${target.name}`);
  }
}
