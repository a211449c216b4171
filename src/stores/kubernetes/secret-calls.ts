/**
 * The Kubernetes Secret store's requests to the API server: get (absent is an answer), create or
 * replace at the resourceVersion read, delete with preconditions. One request per attempt, each
 * reported to the store's observer; throttling and server errors retried by the shared policy.
 */
import type { CoreV1Api, V1Secret } from '../../kube/client-node.js';
import { observedCall, shieldObserver } from '../observed-call.js';
import { type RetryPolicy, withRetry } from '../retry.js';
import type { StoreObserver } from '../store.js';
import { kubeProviderError } from './errors.js';
import type { Deletion } from './secret-layout.js';

export interface SecretCallsOptions {
  api: CoreV1Api;
  namespace: string;
  fieldManager: string;
  policy: RetryPolicy;
  observer?: StoreObserver;
}

export class SecretCalls {
  private readonly observer: Required<StoreObserver>;

  constructor(private readonly o: SecretCallsOptions) {
    this.observer = shieldObserver(o.observer);
  }

  async get(name: string): Promise<V1Secret | undefined> {
    const object = `${this.o.namespace}/${name}`;
    return this.call('ReadSecret', false, object, async () => {
      try {
        return await this.o.api.readNamespacedSecret({ name, namespace: this.o.namespace });
      } catch (e) {
        if (kubeProviderError(e, 'read', object).reason === 'NotFound') return undefined; // absent is an answer
        throw e;
      }
    });
  }

  async write(body: V1Secret, exists: boolean): Promise<void> {
    const name = body.metadata!.name!;
    const object = `${this.o.namespace}/${name}`;
    const fieldManager = this.o.fieldManager;
    if (exists) {
      await this.call('ReplaceSecret', true, object, () =>
        this.o.api.replaceNamespacedSecret({ name, namespace: this.o.namespace, body, fieldManager }),
      );
    } else {
      await this.call('CreateSecret', true, object, () =>
        this.o.api.createNamespacedSecret({ namespace: this.o.namespace, body, fieldManager }),
      );
    }
  }

  /** Deletes a Secret unless it changed since it was read (a `409` then re-reads and re-decides). */
  async remove(d: Deletion): Promise<void> {
    const object = `${this.o.namespace}/${d.name}`;
    await this.call('DeleteSecret', true, object, async () => {
      try {
        await this.o.api.deleteNamespacedSecret({
          name: d.name,
          namespace: this.o.namespace,
          body: { preconditions: d.deleteAt },
        });
      } catch (e) {
        if (kubeProviderError(e, 'delete', object).reason === 'NotFound') return; // already gone
        throw e;
      }
    });
  }

  /**
   * One API request per attempt, each reported to the observer; throttling and server errors are
   * retried by the shared policy. A `409` is not retried here: `apply` reads again and re-decides.
   */
  private call<T>(operation: string, write: boolean, object: string, fn: () => Promise<T>): Promise<T> {
    const verb = operation.replace(/Secret$/, '').toLowerCase();
    const toError = (e: unknown) => kubeProviderError(e, verb, object);
    return withRetry(() => observedCall(this.observer, { operation, write }, fn, toError), {
      policy: this.o.policy,
      classify: toError,
      onRetry: ({ error }) => {
        if (error.reason === 'Throttled') this.observer.onThrottled();
      },
    });
  }
}
