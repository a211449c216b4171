/**
 * `reload-strategy: http` (docs/hot-reload.md): POST each ready pod's reload endpoint, the same way
 * for the notifier (./notifier.ts) and automatic reload (./auto.ts). A network error, a timeout, a
 * 408, 429 or 5xx is retried (backoff from src/backoff.ts); another 4xx is not.
 */
import { backoffDelayMs } from '../../backoff.js';
import type { HttpPost, PodInfo } from './notifier.js';

export interface HttpReloadOptions {
  /** POST attempts per pod; default 3. */
  attempts?: number;
  /** First retry delay (ms), doubled each time; default 200. */
  retryBaseMs?: number;
  /** Per-POST timeout (ms); default 5000. */
  timeoutMs?: number;
}

/** POST `url` until a 2xx, a final 4xx or the attempts are used up; whether it was accepted. */
export async function postWithRetries(
  post: HttpPost,
  url: string,
  o: HttpReloadOptions = {},
): Promise<boolean> {
  const attempts = o.attempts ?? 3;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, backoffDelayMs({ baseMs: o.retryBaseMs ?? 200 }, i)));
    const code = await post(url, o.timeoutMs ?? 5000).catch(() => 0); // network error or timeout: retry
    if (code >= 200 && code < 300) return true;
    if (code >= 400 && code < 500 && code !== 408 && code !== 429) return false;
  }
  return false;
}

/** POST `port/path` on every pod given (the ready ones); the names of those that did not accept it. */
export async function postToPods(
  post: HttpPost,
  pods: readonly PodInfo[],
  target: { port: number; path: string },
  o: HttpReloadOptions = {},
): Promise<string[]> {
  const failed: string[] = [];
  await Promise.all(
    pods.map(async (pod) => {
      const host = pod.podIP!.includes(':') ? `[${pod.podIP}]` : pod.podIP!;
      if (!(await postWithRetries(post, `http://${host}:${target.port}${target.path}`, o)))
        failed.push(pod.name);
    }),
  );
  return failed.sort();
}
