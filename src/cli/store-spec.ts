import { SmcError } from '../errors.js';
import { LocalDirStore } from '../stores/local.js';
import type { SecretStore } from '../stores/store.js';

/**
 * `--store TYPE:TARGET` → a store. `local:DIR` is a directory laid out like a mounted Secret.
 */
export function storeFromSpec(spec: string): SecretStore {
  const colon = spec.indexOf(':');
  const type = colon < 0 ? spec : spec.slice(0, colon);
  const target = colon < 0 ? '' : spec.slice(colon + 1);
  if (!target) throw new SmcError('InvalidSpec', `--store ${spec}: expected TYPE:TARGET, e.g. local:./out`);
  switch (type) {
    case 'local':
      return new LocalDirStore(target);
    case 'gcp':
    case 'aws':
    case 'azure':
    case 'k8s':
      throw new SmcError('InvalidSpec', `--store ${type}:… is not available in this version; use local:DIR`);
    default:
      throw new SmcError(
        'InvalidSpec',
        `--store ${spec}: unknown store type "${type}" (known: local, gcp, aws, azure, k8s)`,
      );
  }
}
