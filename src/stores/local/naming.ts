/** The local directory store's naming rule and limits. */
import type { StoreLimits } from '../../naming/limits.js';
import { replaceOutside, type StoreNamingRule } from '../../naming/store-rules.js';

/**
 * Local directory store (kubelet layout): file names. Names starting with `.` are refused because the
 * kubelet's `..data` / `..<timestamp>` layout reserves them (and `.`/`..` are not file names), so a
 * leading dot becomes `_`. Case-insensitive because the directory may sit on a case-insensitive file
 * system (macOS, Windows), where `Foo` and `foo` would silently be one file.
 */
export const localNaming: StoreNamingRule = {
  store: 'local',
  maxLength: 253,
  pattern: /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/,
  caseInsensitive: true,
  sanitize: (candidate) => {
    const s = replaceOutside('A-Za-z0-9._-', '_')(candidate);
    return s.replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  },
};

/** The Kubernetes bound, so a directory behaves like the Secret volume it imitates. */
export const LOCAL_LIMITS: StoreLimits = { maxValueBytes: 1024 * 1024 };
