import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { shieldObserver } from '../observed-call.js';
import { reasonForHttpStatus } from '../provider-error.js';
import type { StoreObserver } from '../store.js';

/** The Azure SDKs' pipeline policy type (both clients share @azure/core-rest-pipeline). */
export type PipelinePolicy = NonNullable<SecretClientOptions['additionalPolicies']>[number]['policy'];

type Response = Awaited<ReturnType<PipelinePolicy['sendRequest']>>;
type Request = Parameters<PipelinePolicy['sendRequest']>[0];

export interface ObservedCall {
  operation: string;
  write: boolean;
}

export interface ObserverPolicyOptions {
  name: string;
  /** Name the REST call (value-free: method and path only). */
  describe(request: Request): ObservedCall;
  /**
   * How a response counts: `ok`, `error`, or another call (e.g. an auth challenge). Default: a
   * status below 400, or a 404 on a read (an answer: "absent"), is ok.
   */
  classify?(response: Response, call: ObservedCall, request: Request): 'ok' | 'error' | ObservedCall;
  /** Reason for a request that threw (network error, timeout). */
  errorReason(error: unknown, operation: string): string;
}

/**
 * Reports every HTTP request an Azure client sends to the store's observer, once per attempt,
 * so metrics and the contract tests see the calls as they happen on the wire. The observer is
 * shielded as every store's is (../observed-call.ts): what it throws never fails the request.
 */
export function observerPolicy(given: StoreObserver, opts: ObserverPolicyOptions): PipelinePolicy {
  const observer = shieldObserver(given);
  return {
    name: opts.name,
    async sendRequest(request, next) {
      const t0 = performance.now();
      const call = opts.describe(request);
      try {
        const res = await next(request);
        const durationMs = performance.now() - t0;
        const verdict = opts.classify?.(res, call, request) ?? defaultVerdict(res.status, call);
        if (typeof verdict === 'object') observer.onCall({ ...verdict, result: 'ok', durationMs });
        else if (verdict === 'ok') observer.onCall({ ...call, result: 'ok', durationMs });
        else
          observer.onCall({
            ...call,
            result: 'error',
            reason: reasonForHttpStatus(res.status),
            durationMs,
          });
        return res;
      } catch (e) {
        observer.onCall({
          ...call,
          result: 'error',
          reason: opts.errorReason(e, call.operation),
          durationMs: performance.now() - t0,
        });
        throw e;
      }
    },
  };
}

export function defaultVerdict(status: number, call: ObservedCall): 'ok' | 'error' {
  return status < 400 || (!call.write && status === 404) ? 'ok' : 'error';
}
