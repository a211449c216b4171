import type { z } from 'zod';

/**
 * A cross-field rule, written once and enforced twice: by the kube-apiserver as a CEL
 * `x-kubernetes-validations` entry (so `kubectl apply` refuses a bad spec), and by zod in
 * `parseSpec` (so the CLI and the controller refuse the same spec with the same message).
 *
 * `cel` and `holds` are the same predicate in two languages; `test/api` checks them against the same
 * cases, and the two always sit next to each other in the modules under `schema/`.
 */
export interface CrossFieldRule<T> {
  /** CEL with `self` bound to the object the rule is attached to. Must stay cheap (no unbounded loops). */
  cel: string;
  /** The same predicate in TypeScript, on the zod-parsed (defaulted) value. True when valid. */
  holds: (self: T) => boolean;
  /** What is wrong, without the field path (both sides prefix it). */
  message: string;
  /** The field the rule is about, relative to `self` (`['secretRef']`); the object itself when absent. */
  field?: readonly string[];
  /** How the apiserver classifies the error; default `FieldValueInvalid`. */
  reason?: 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueInvalid';
}

/** One `x-kubernetes-validations` entry, as it appears in the CRD. */
export interface CelValidation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export function celValidation(rule: CrossFieldRule<never>): CelValidation {
  return {
    rule: rule.cel,
    message: rule.message,
    ...(rule.field ? { fieldPath: rule.field.map((f) => `.${f}`).join('') } : {}),
    ...(rule.reason ? { reason: rule.reason } : {}),
  };
}

/**
 * Attach `rules` to `schema`: a zod refinement reporting each broken rule at its field, and the CEL
 * form as JSON-Schema metadata that `src/api/crd.ts` carries into the CRD.
 */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (!rule.holds(value as z.output<S>)) {
        ctx.addIssue({ code: 'custom', message: rule.message, path: [...(rule.field ?? [])] });
      }
    }
  }) as S;
  return refined.meta({
    'x-kubernetes-validations': rules.map((r) => celValidation(r as CrossFieldRule<never>)),
  }) as S;
}

/** A CEL string literal for `text` (a raw string, so regex backslashes stay as written). */
export function celString(text: string): string {
  if (text.includes("'") || /[\r\n]/.test(text))
    throw new Error(`cannot embed ${JSON.stringify(text)} in a CEL raw string`);
  return `r'${text}'`;
}
