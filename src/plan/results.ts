import type { Action, ActionResult } from './actions.js';

/**
 * The result of an action that asks a store to do nothing, so every store reports them alike:
 * a `noop` succeeds; a `conflict` fails (the entry is left untouched and the user must act), with the
 * plan's value-free reason as the message.
 */
export function passiveResult(action: Action, version?: string): ActionResult {
  if (action.type === 'conflict') {
    return { action, ok: false, message: `conflict: ${action.reason}`, wrote: false };
  }
  return { action, ok: true, wrote: false, ...(version !== undefined ? { version } : {}) };
}

/** Whether an action can change a store (everything except `noop` and `conflict`). */
export function isWrite(action: Action): boolean {
  return action.type !== 'noop' && action.type !== 'conflict';
}
