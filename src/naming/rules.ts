/**
 * A store's naming rule: which characters and lengths it accepts, and how a candidate name
 * (`prefix-key-suffix`) is made to fit. Implementations live beside this interface.
 */
export interface NamingRule {
  /** Store type this rule belongs to (`local`, `gcp`, `aws`, `azure-keyvault`, `ssm`, `appconfig`, `k8s`). */
  readonly store: string;
  readonly maxLength: number;
  /** Full-match pattern a final name must satisfy. */
  readonly pattern: RegExp;
  /** Map a candidate name to the store's alphabet (e.g. `_` → `-` for Azure Key Vault). */
  sanitize(candidate: string): string;
}
