/**
 * The unit that flows through the pipeline: one key with its value, as rendered from the source.
 * `value` is secret material: it must never reach a log, an error message, a status or a metric.
 */
export type EntryKind = 'secret' | 'config';

export interface Entry {
  /** Key as written in the source (e.g. `DATABASE_URL`, `db.password`). */
  key: string;
  value: string;
  kind: EntryKind;
  /** False when the key is commented out in the source: the store entry is disabled, not deleted. */
  enabled: boolean;
  /** Source file (relative to the source root) that defined the entry, for messages. */
  origin: string;
  /** Service the entry belongs to (raw-file mode: the parent directory of `deployment-configuration`). */
  service?: string;
}

/** An entry with the name it will have in its store. */
export interface NamedEntry extends Entry {
  storeName: string;
}
