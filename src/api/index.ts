/** The SecretManagerConfig API: schema, derived types, validation, and the CRD generated from it. */
export * from './constants.js';
export * from './duration.js';
export * from './schema.js';
export {
  buildCrd,
  renderCrdYaml,
  renderReference,
  openApiSchema,
  applyStructuralDefaults,
  PRINTER_COLUMNS,
} from './crd.js';
export type { CustomResourceDefinition, StructuralSchema } from './crd.js';
export { CRD_FILE, REFERENCE_FILE, generatedFiles } from './generated.js';
export type { CrossFieldRule, CelValidation } from './rules.js';
