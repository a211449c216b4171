/**
 * Run `fn` at most once at a time. A call while a run is in progress does not start a second,
 * overlapping run: it is served by one follow-up run that starts when the current one ends, shared
 * by every call made in the meantime. So each caller gets the result of a run that started after
 * its call (it sees everything that happened before it asked), and a burst of N calls costs at most
 * two runs.
 */
export function coalesce<T>(fn: () => T | Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let queued: Promise<T> | undefined;

  const start = (): Promise<T> => {
    const run = (async () => fn())();
    running = run;
    const clear = () => {
      if (running === run) running = undefined;
    };
    run.then(clear, clear);
    return run;
  };

  return () => {
    if (queued) return queued;
    if (!running) return start();
    const settle = () => undefined;
    queued = running.then(settle, settle).then(() => {
      queued = undefined;
      return start();
    });
    return queued;
  };
}
