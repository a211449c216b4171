/**
 * sops' YAML store: YAML documents <-> tree branches. Reading uses the `yaml` package for the
 * syntax and yaml/load.ts for what sops makes of it (value types, comment placement); printing
 * uses yaml/emit.ts, which writes what `sops -d` writes.
 */
import { SmcError } from '../errors.js';
import { YamlLimitError } from '../limits/yaml.js';
import type { Branch } from './values.js';
import { emitDocuments } from './yaml/emit.js';
import { UnsupportedYaml, YamlSyntaxError, loadDocuments } from './yaml/load.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function loadYaml(content: Uint8Array, fileName: string): Branch[] {
  let text: string;
  try {
    text = utf8.decode(content);
  } catch {
    throw new SmcError('SopsInvalidFile', `${fileName}: not valid YAML: the file is not UTF-8`);
  }
  try {
    return loadDocuments(text);
  } catch (e) {
    if (e instanceof YamlSyntaxError) {
      throw new SmcError('SopsInvalidFile', `${fileName}: not valid YAML: ${e.message}`);
    }
    if (e instanceof YamlLimitError) {
      throw new SmcError('SopsInvalidFile', `${fileName}: refused YAML: ${e.message}`);
    }
    if (e instanceof UnsupportedYaml) {
      throw new SmcError('SopsInvalidFile', `${fileName}: unsupported YAML content: ${e.message}`);
    }
    throw e;
  }
}

/** sops' YAML EmitPlainFile. */
export function emitYaml(branches: Branch[]): Uint8Array {
  return Buffer.from(emitDocuments(branches), 'utf8');
}
