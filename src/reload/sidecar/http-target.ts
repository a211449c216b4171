/** HTTP delivery: POST to the application's reload endpoint, with an optional bearer token. */
import { readFile } from 'node:fs/promises';
import { DeliveryError, SmcError } from '../../errors.js';
import type { DeliveryContext, ReloadTarget } from './delivery.js';
import { errnoOf } from './signal-target.js';

export interface HttpTargetOptions {
  /** File holding the bearer token; read at every attempt, so a rotated token is picked up. */
  tokenFile?: string;
  timeoutMs: number;
  /** Aborts a request in flight (when the reloader must stop at once). */
  signal?: AbortSignal;
}

/** Statuses worth another attempt: the application is down, overloaded or still starting. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

export function httpTarget(url: string, options: HttpTargetOptions): ReloadTarget {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new SmcError('InvalidSpec', `--post: not a URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new SmcError('InvalidSpec', `--post: only http:// and https:// URLs are supported`);
  }
  // Credentials in the URL become a Basic header (fetch refuses URLs carrying them); never logged.
  let basic: string | undefined;
  if (target.username || target.password) {
    basic = Buffer.from(
      `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`,
    ).toString('base64');
    target.username = '';
    target.password = '';
  }
  const description = `POST ${target.origin}${target.pathname}`; // no credentials, no query string

  return {
    kind: 'http',
    description,
    async deliver(ctx: DeliveryContext) {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (options.tokenFile !== undefined) {
        let token: string;
        try {
          token = (await readFile(options.tokenFile, 'utf8')).trim();
        } catch (e) {
          throw new DeliveryError(
            `${options.tokenFile}: cannot read the token file (${errnoOf(e) ?? 'error'})`,
            true,
          );
        }
        if (token === '') throw new DeliveryError(`${options.tokenFile}: the token file is empty`, true);
        headers.Authorization = `Bearer ${token}`;
      } else if (basic !== undefined) {
        headers.Authorization = `Basic ${basic}`;
      }
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await fetch(target, {
          method: 'POST',
          headers,
          body: JSON.stringify({ changed: ctx.changed }),
          signal,
          redirect: 'manual', // never forward the token to wherever a redirect points
        });
      } catch (e) {
        if (timeout.aborted)
          throw new DeliveryError(`${description}: no answer within ${options.timeoutMs} ms`, true);
        if (options.signal?.aborted) throw new DeliveryError(`${description}: cancelled (stopping)`, false);
        const cause = (e as { cause?: unknown }).cause;
        throw new DeliveryError(
          `${description}: request failed (${errnoOf(cause) ?? errnoOf(e) ?? 'network error'})`,
          true,
        );
      }
      await res.arrayBuffer().catch(() => undefined); // drain; the body is not logged
      if (res.ok) return `HTTP ${res.status}`;
      if (res.status >= 300 && res.status < 400) {
        throw new DeliveryError(
          `${description}: answered a redirect (HTTP ${res.status}); redirects are not followed`,
          false,
        );
      }
      throw new DeliveryError(`${description}: answered HTTP ${res.status}`, retryableStatus(res.status));
    },
  };
}
