/**
 * Regular expressions of the API, as pattern strings. They are used by zod (as JavaScript RegExps), by
 * the apiserver (OpenAPI `pattern`, Go RE2) and by CEL `matches()` (RE2), so each one must mean the
 * same in both engines: no look-around, no back-references, anchored with `^…$`.
 */

const DNS_LABEL_PART = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/** RFC 1123 subdomain: names of Secrets, ConfigMaps, Flux sources, Argo Applications. */
export const DNS_SUBDOMAIN = `^${DNS_LABEL_PART}(\\.${DNS_LABEL_PART})*$`;
/** RFC 1123 label: namespaces. */
export const DNS_LABEL = `^${DNS_LABEL_PART}$`;
/** Kubernetes label value, non-empty. */
export const LABEL_VALUE = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
/** What GCP accepts as a label value (lowercase, digits, `_`, `-`), intersected with `LABEL_VALUE`. */
export const GCP_LABEL_VALUE = '^[a-z0-9_-]*$';
/** A key inside a Secret's `data`. */
export const SECRET_DATA_KEY = '^[-._a-zA-Z0-9]+$';
/** `secrets.prefix` / `secrets.suffix`. */
export const NAME_AFFIX = '^[A-Za-z0-9_-]+$';

// A path segment that is not `..` (RE2 has no look-ahead, so spell out the alternatives) and holds
// no control characters.
const SEG_CHAR = '[^/\\x00-\\x1f\\x7f]';
const SEG_FIRST = '[^/.\\x00-\\x1f\\x7f]';
const SEGMENT = `(${SEG_FIRST}${SEG_CHAR}*|\\.${SEG_FIRST}${SEG_CHAR}*|\\.\\.${SEG_CHAR}+|\\.)`;
/** A path relative to the source root: no leading `/`, no `..` segment, no empty segment. */
export const RELATIVE_PATH = `^${SEGMENT}(/${SEGMENT})*/?$`;

/** GCP project id (6–30 chars), domain-scoped project id, or project number. */
export const GCP_PROJECT_ID =
  '^([a-z][-a-z0-9]{4,28}[a-z0-9]|[a-z0-9][-a-z0-9.]*[a-z0-9]:[a-z][-a-z0-9]{4,28}[a-z0-9]|[0-9]{1,19})$';
/** GCP region, e.g. `europe-west4`. */
export const GCP_REGION = '^[a-z]+-[a-z]+[0-9]+$';
/** AWS region, e.g. `eu-central-1`, `us-gov-west-1`, `cn-north-1`. */
export const AWS_REGION = '^[a-z]{2}(-[a-z]+)+-[0-9]+$';
/** IAM role ARN in any partition. */
export const AWS_ROLE_ARN = '^arn:aws[-a-z]*:iam::[0-9]{12}:role/[-A-Za-z0-9_+=,.@/]+$';
/** Key Vault name: 3–24 alphanumerics and dashes, starting with a letter, no `--`, no trailing `-`. */
export const AZURE_VAULT_NAME = '^[A-Za-z](-?[A-Za-z0-9])+$';
const HOST_AND_PATH = '[^\\s/?#]+(/[^\\s?#]*)?$';
/** Any `https://` URL (public cloud, sovereign clouds, emulators). */
export const HTTPS_URL = `^https://${HOST_AND_PATH}`;
/** An `http://` or `https://` URL. */
export const HTTP_URL = `^https?://${HOST_AND_PATH}`;
const UUID_PART = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
export const UUID = `^${UUID_PART}$`;
/** Entra tenant: a GUID or a verified domain such as `contoso.onmicrosoft.com`. */
export const AZURE_TENANT = `^(${UUID_PART}|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+)$`;
/** SSM Parameter Store hierarchy, e.g. `/my-service/prod`. */
export const SSM_PATH = '^(/[A-Za-z0-9_.-]+)+$';
/** Argo CD notification service or trigger name (part of an annotation key). */
export const ARGO_NOTIFICATION_NAME = '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
/** One line of text. */
export const SINGLE_LINE = '^[^\\r\\n]+$';

/** metav1.Condition `type` and `reason`. */
export const CONDITION_TYPE =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$';
export const CONDITION_REASON = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';
