/** Reload on a signal (SIGHUP by default), the classic Unix way, serialised. */
import { coalesce } from './coalesce.js';
import { reportToStderr } from './describe-error.js';

export interface SignalReloadOptions {
  /** Errors thrown by the handler. Default: one value-free line on stderr. */
  onError?: (error: unknown) => void;
}

/**
 * Call `handler` on every `signal`. Reloads never overlap: signals that arrive while a reload runs
 * are folded into one more reload after it, so a burst of signals costs at most two reloads and the
 * last signal is always followed by a reload that started after it. Returns an unsubscribe function.
 *
 * While subscribed, the signal no longer terminates the process (Node's default for SIGHUP); after the
 * last unsubscribe it does again.
 */
export function onSignal(
  signal: NodeJS.Signals,
  handler: () => unknown,
  options: SignalReloadOptions = {},
): () => void {
  const onError = options.onError ?? ((e: unknown) => reportToStderr(`${signal} reload failed`, e));
  const run = coalesce(async () => {
    await handler();
  });
  const listener = () => {
    run().catch(onError);
  };
  process.on(signal, listener);
  return () => {
    process.off(signal, listener);
  };
}

/**
 * Reload on SIGHUP (what `kill -HUP <pid>`, and `msmctl reloader --signal HUP`, send).
 *
 * @example
 * ```ts
 * const config = await createReloadable(loadConfig, validateConfig);
 * const unsubscribe = onSighup(() => config.reload());
 * ```
 */
export function onSighup(handler: () => unknown, options: SignalReloadOptions = {}): () => void {
  return onSignal('SIGHUP', handler, options);
}
