/**
 * Event messages quote keys and names from Git and are printed by `kubectl get events` and
 * `kubectl describe`: the recorder escapes control characters, against the real apiserver.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/controller/runtime/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { useKube } from '../peers/kube/use.js';

const kube = useKube();
const logger = createLogger({ level: 'silent', format: 'json' });

describe('EventRecorder', () => {
  it('writes a message quoting a hostile key with its control characters escaped', async () => {
    const ns = await kube().createNamespace('events-escape');
    const recorder = new EventRecorder(kube().kubeConfig(), logger, 'test');
    await recorder.record(
      { namespace: ns, name: 'payments' },
      {
        type: 'Warning',
        reason: 'NameCollision',
        message: '"a\x1b]0;PWNED\x07" and "x\nFAKE-ROW\u202e" both map to "svc-a"',
      },
    );
    const events = await kube().client(CoreV1Api).listNamespacedEvent({ namespace: ns });
    expect(events.items.map((e) => e.message)).toEqual([
      '"a\\x1b]0;PWNED\\x07" and "x\\nFAKE-ROW\\u202E" both map to "svc-a"',
    ]);
  });
});
