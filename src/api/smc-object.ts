/**
 * A SecretManagerConfig object as the API server returns it: the parts the controller and msmctl
 * read. The spec is checked where it is used (`parseSpec`), so here it is only the loose shape the
 * one-line summaries read before any check.
 */
import type { SecretManagerConfigStatus } from './schema.js';

export interface SmcObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    sourceRef?: { kind?: string; name?: string; namespace?: string };
    provider?: Record<string, Record<string, unknown> | undefined>;
    suspend?: boolean;
    suspendGitPulls?: boolean;
    [k: string]: unknown;
  };
  status?: SecretManagerConfigStatus;
}
