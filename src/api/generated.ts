import { buildCrd, renderCrdYaml, renderReference } from './crd.js';

/** Files generated from the schema, relative to the repository root (`scripts/gen-crd.ts` writes them). */
export const CRD_FILE = 'config/crd/secretmanagerconfig.yaml';
export const REFERENCE_FILE = 'docs/crd-reference.md';

export function generatedFiles(): { path: string; content: string }[] {
  const crd = buildCrd();
  return [
    { path: CRD_FILE, content: renderCrdYaml(crd) },
    { path: REFERENCE_FILE, content: renderReference(crd) },
  ];
}
