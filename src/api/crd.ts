/**
 * The CustomResourceDefinition and the CRD reference doc, generated from the zod schema in
 * `schema.ts` (`npm run gen:crd` writes them; `--check` fails when the checked-in copies are stale).
 *
 * zod's JSON Schema is close to what the apiserver wants but not equal: `toStructural` maps it to a
 * Kubernetes structural schema (every node typed, no `$ref`/`anyOf`/`const`, no
 * `additionalProperties: false`, RE2-safe patterns only) and throws on anything it does not know, so
 * a schema change that the apiserver would refuse fails here, at generation time.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import {
  API_GROUP,
  API_VERSION_NAME,
  CRD_NAME,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
} from './constants.js';
import type { CelValidation } from './rules.js';
import { SecretManagerConfigSchema } from './schema.js';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps this generator emits. */
export interface StructuralSchema {
  description?: string;
  type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  items?: StructuralSchema;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  required?: string[];
  'x-kubernetes-validations'?: CelValidation[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

// Key order in the emitted YAML: what a reader looks for first.
const KEY_ORDER: (keyof StructuralSchema)[] = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'maxProperties',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'items',
  'properties',
  'additionalProperties',
  'required',
  'x-kubernetes-validations',
];
const KNOWN_KEYS = new Set<string>(KEY_ORDER);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
// Formats the apiserver validates; anything else would be ignored with a warning, so refuse it.
const FORMATS = new Set(['date-time', 'int32', 'int64']);

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Map one node of zod's JSON Schema (OpenAPI 3.0 target, input side) to a structural schema node.
 * `at` is the node's path, for error messages.
 */
export function toStructural(node: unknown, at = '<root>'): StructuralSchema {
  if (!isObject(node)) throw new Error(`${at}: schema node is not an object`);
  const src: JsonObject = { ...node };
  delete src.$schema;
  if (src.const !== undefined) {
    src.enum = [src.const];
    delete src.const;
  }
  // Records: the apiserver keeps keys as free strings.
  delete src.propertyNames;
  // Objects prune unknown fields by default; `false` is forbidden and `{}` means "anything".
  if (src.additionalProperties === false) delete src.additionalProperties;
  if (isObject(src.additionalProperties) && Object.keys(src.additionalProperties).length === 0) {
    throw new Error(`${at}: open-ended additionalProperties would need x-kubernetes-preserve-unknown-fields`);
  }
  if (src.type === 'integer') {
    // zod's int() bounds are JavaScript's safe-integer range, not a property of the API.
    if (src.maximum === Number.MAX_SAFE_INTEGER) delete src.maximum;
    if (src.minimum === Number.MIN_SAFE_INTEGER) delete src.minimum;
    src.format ??= 'int64';
  }
  if (src.format === 'date-time') delete src.pattern; // zod's pattern uses syntax RE2 lacks; format suffices

  const out: JsonObject = {};
  for (const [key, value] of Object.entries(src)) {
    if (!KNOWN_KEYS.has(key))
      throw new Error(`${at}: JSON Schema keyword "${key}" has no structural equivalent`);
    out[key] = value;
  }
  if (typeof out.type !== 'string' || !TYPES.has(out.type)) throw new Error(`${at}: every node needs a type`);
  if (out.format !== undefined && !FORMATS.has(out.format as string)) {
    throw new Error(`${at}: format "${String(out.format)}" is not one the apiserver checks`);
  }
  if (out.properties !== undefined) {
    if (out.type !== 'object' || !isObject(out.properties))
      throw new Error(`${at}: properties on a non-object`);
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([k, v]) => [k, toStructural(v, `${at}.${k}`)]),
    );
  }
  if (out.additionalProperties !== undefined) {
    if (out.properties !== undefined) throw new Error(`${at}: properties and additionalProperties together`);
    out.additionalProperties = toStructural(out.additionalProperties, `${at}[*]`);
  }
  if (out.items !== undefined) out.items = toStructural(out.items, `${at}[]`);
  if (out.type === 'array' && out.items === undefined) throw new Error(`${at}: array without items`);

  const ordered: JsonObject = {};
  for (const key of KEY_ORDER) if (out[key] !== undefined) ordered[key] = out[key];
  return ordered as unknown as StructuralSchema;
}

/**
 * Kubernetes structural defaulting: fill in `default`s of absent properties, recursively, the way the
 * apiserver does on every request and read. Mutates and returns `value`.
 */
export function applyStructuralDefaults(value: unknown, schema: StructuralSchema): unknown {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyStructuralDefaults(item, schema.items);
  } else if (isObject(value)) {
    for (const [key, prop] of Object.entries(schema.properties ?? {})) {
      if (!(key in value) && prop.default !== undefined) value[key] = structuredClone(prop.default);
      if (key in value) applyStructuralDefaults(value[key], prop);
    }
    if (schema.additionalProperties) {
      for (const v of Object.values(value)) applyStructuralDefaults(v, schema.additionalProperties);
    }
  }
  return value;
}

/**
 * Write object defaults out in full (`default: {}` → `default: {type: workloadIdentity}`). The
 * apiserver would expand `{}` itself, but it validates a default's CEL rules against the literal
 * value, and a reader of the CRD should see what the default is.
 */
function expandObjectDefaults(node: StructuralSchema): void {
  for (const child of Object.values(node.properties ?? {})) expandObjectDefaults(child);
  if (node.items) expandObjectDefaults(node.items);
  if (node.additionalProperties) expandObjectDefaults(node.additionalProperties);
  if (isObject(node.default)) applyStructuralDefaults(node.default, node);
}

/** The CRD's `openAPIV3Schema`, from the one zod schema. */
export function openApiSchema(): StructuralSchema {
  const json = z.toJSONSchema(SecretManagerConfigSchema, {
    io: 'input', // what users write: fields with defaults are optional
    target: 'openapi-3.0',
    unrepresentable: 'throw',
  }) as JsonObject;
  const props = json.properties as JsonObject;
  // The apiserver owns apiVersion, kind and metadata: at the root they may carry only a type.
  const root = toStructural({
    ...json,
    properties: { spec: props.spec, status: props.status },
    required: ['spec'],
  });
  const apiVersion = props.apiVersion as JsonObject;
  const kind = props.kind as JsonObject;
  root.properties = {
    apiVersion: { description: apiVersion.description as string, type: 'string' },
    kind: { description: kind.description as string, type: 'string' },
    metadata: { type: 'object' },
    ...root.properties,
  };
  expandObjectDefaults(root);
  return root;
}

export const PRINTER_COLUMNS = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Secrets', type: 'integer', jsonPath: '.status.secretsCount' },
  { name: 'Last Sync', type: 'date', jsonPath: '.status.lastSyncTime' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  { name: 'Description', type: 'string', jsonPath: '.status.description', priority: 1 },
] as const;

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: (typeof PRINTER_COLUMNS)[number][];
      schema: { openAPIV3Schema: StructuralSchema };
    }[];
  };
}

export function buildCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { 'app.kubernetes.io/name': 'secret-manager-controller' } },
    spec: {
      group: API_GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION_NAME,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [...PRINTER_COLUMNS],
          schema: { openAPIV3Schema: openApiSchema() },
        },
      ],
    },
  };
}

const GENERATED_BY =
  'Generated by `npm run gen:crd` (scripts/gen-crd.ts) from src/api/schema.ts. Do not edit.';

/**
 * Written for YAML 1.1 readers as well as 1.2 ones: kubectl and Helm read manifests as YAML 1.1,
 * where a bare `off`, `on`, `yes`, `no`, `y` or `n` is a boolean — an enum value `off` would reach
 * the apiserver as `false`. Version 1.1 output quotes such strings; both versions read it alike.
 */
export function renderCrdYaml(crd: CustomResourceDefinition = buildCrd()): string {
  return `# ${GENERATED_BY}\n${stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false, version: '1.1' })}`;
}

// ---------------------------------------------------------------------------------------------
// docs/crd-reference.md

interface FieldRow {
  path: string;
  node: StructuralSchema;
  required: boolean;
}

function walk(node: StructuralSchema, path: string, required: boolean, rows: FieldRow[]): void {
  rows.push({ path, node, required });
  const req = new Set(node.required ?? []);
  for (const [key, child] of Object.entries(node.properties ?? {}))
    walk(child, `${path}.${key}`, req.has(key), rows);
  // List items get a row of their own only when they are objects (their fields follow).
  if (node.items?.type === 'object') walk(node.items, `${path}[]`, false, rows);
}

function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeCell(n: StructuralSchema): string {
  let t: string = n.type;
  if (n.type === 'array' && n.items) t = `[]${n.items.type}`;
  if (n.type === 'object' && n.additionalProperties) t = `map[string]${n.additionalProperties.type}`;
  const parts = [`${t}`];
  if (n.enum) parts.push(`one of ${n.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (n.format) parts.push(`format \`${n.format}\``);
  if (n.pattern) parts.push(`pattern \`${n.pattern}\``);
  const len = [
    n.minLength && n.minLength > 1 ? `min ${n.minLength}` : '',
    n.maxLength ? `max ${n.maxLength}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (len) parts.push(`length ${len}`);
  if (n.minItems || n.maxItems)
    parts.push(
      `items ${[n.minItems ? `min ${n.minItems}` : '', n.maxItems ? `max ${n.maxItems}` : ''].filter(Boolean).join(', ')}`,
    );
  if (n.maxProperties) parts.push(`at most ${n.maxProperties} entries`);
  return md(parts.join('; '));
}

function defaultCell(n: StructuralSchema): string {
  if (n.default === undefined) return '';
  return `\`${md(JSON.stringify(n.default))}\``;
}

function fieldTable(root: StructuralSchema, name: 'spec' | 'status'): string {
  const rows: FieldRow[] = [];
  walk(root, name, true, rows);
  const lines = ['| Field | Type | Default | Description |', '|---|---|---|---|'];
  for (const { path, node, required } of rows.slice(1)) {
    const desc = `${required ? '**Required.** ' : ''}${node.description ?? ''}`;
    lines.push(`| \`${path}\` | ${typeCell(node)} | ${defaultCell(node)} | ${md(desc)} |`);
  }
  return lines.join('\n');
}

function ruleTable(root: StructuralSchema): string {
  const rows: FieldRow[] = [];
  walk(root, 'spec', true, rows);
  const lines = ['| Field | Message | CEL rule (must hold) |', '|---|---|---|'];
  for (const { path, node } of rows) {
    for (const v of node['x-kubernetes-validations'] ?? []) {
      lines.push(`| \`${path}${v.fieldPath ?? ''}\` | ${md(v.message)} | \`${md(v.rule)}\` |`);
    }
  }
  return lines.join('\n');
}

export function renderReference(crd: CustomResourceDefinition = buildCrd()): string {
  const version = crd.spec.versions[0]!;
  const schema = version.schema.openAPIV3Schema;
  const spec = schema.properties!.spec!;
  const status = schema.properties!.status!;
  const columns = version.additionalPrinterColumns
    .map((c) => `| ${c.name} | \`${md(c.jsonPath)}\` | ${'priority' in c ? 'wide only (`-o wide`)' : ''} |`)
    .join('\n');
  return `<!-- ${GENERATED_BY} -->

# SecretManagerConfig reference

\`apiVersion: ${API_GROUP}/${API_VERSION_NAME}\`, \`kind: ${KIND}\` (plural \`${PLURAL}\`, short name
\`${SHORT_NAMES.join('`, `')}\`), namespaced, with a status subresource.

${schema.description ?? ''}

The CRD (\`config/crd/secretmanagerconfig.yaml\`) and this page are generated from the zod schema in
\`src/api/schema.ts\`, the same schema the controller and \`msmctl\` validate with, so \`kubectl apply\`
refuses what the controller would refuse, with the same messages. The CEL rules use \`reason\` and
\`fieldPath\`, so the CRD needs Kubernetes 1.28 or later.

## spec

${spec.description ?? ''}

${fieldTable(spec, 'spec')}

## Cross-field rules

Checked by the apiserver (CEL \`x-kubernetes-validations\`) and by the controller and CLI (zod).

${ruleTable(spec)}

## status

${status.description ?? ''}

${fieldTable(status, 'status')}

## Printer columns

| Column | JSONPath | |
|---|---|---|
${columns}
`;
}
