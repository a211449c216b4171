/**
 * Render: source files → entries. Raw-file mode (`renderRawFiles`) reads the per-service
 * `deployment-configuration` files; kustomize mode (`renderKustomize`) runs `kustomize build`.
 * Decryption is the caller's: both take a `DecryptFile` callback.
 */
export type { DecryptFile } from './decrypt.js';
export { discoverServices, RAW_FILE_NAMES, type DiscoverOptions, type ServiceFiles } from './discovery.js';
export { parseEnv } from './env.js';
export {
  renderKustomize,
  resolveKustomizeBin,
  entriesFromBuildOutput,
  type KustomizeRenderOptions,
} from './kustomize.js';
export type { ParsedEntry } from './parsed.js';
export { parseProperties } from './properties.js';
export { propertiesAsSecret, renderRawFiles, type RawRenderOptions } from './raw.js';
export { parseYaml } from './yaml.js';
