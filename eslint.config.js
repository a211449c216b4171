import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'coverage/', 'examples/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The package's entry loads every Kubernetes API group (docs/performance.md, "Memory").
    files: ['src/**/*.ts'],
    ignores: ['src/kube/**', 'src/cli/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              message:
                'Import client-node values through src/kube/client-node.ts (it loads only what we use).',
              allowTypeImports: true,
            },
          ],
          patterns: [
            {
              group: ['@kubernetes/client-node/*'],
              message: 'Import client-node values through src/kube/client-node.ts.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
