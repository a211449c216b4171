/** The local store's face (src/stores/provider.ts): `--store local:DIR`; no SMC provider. */
import type { StoreProvider } from '../provider.js';
import { LOCAL_LIMITS, localNaming } from './naming.js';
import { LocalDirStore } from './store.js';

export const localProvider: StoreProvider = {
  name: 'local',
  kinds: [
    {
      type: 'local',
      naming: localNaming,
      limits: LOCAL_LIMITS,
      cli: {
        scheme: 'local',
        help: ['local:DIR                 a directory laid out like a mounted Secret'],
        parse: (target) => ({ dir: target }),
        open: async (t, ctx) =>
          new LocalDirStore(t.dir!, { allowNonEmptyDir: ctx.allowNonEmptyDir ?? false }),
      },
    },
  ],
};
