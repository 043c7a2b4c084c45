// One linter configuration for the whole repository (type-aware, so floating promises are caught).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '.scratch/**',
      '**/*.cjs',
      'bench/*.mjs',
      'dist/**',
      'out/**',
      'node_modules/**',
      'test-results/**',
      'sample-workspace/**',
      '*.mjs',
      'scripts/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // The CLI and tests print to the terminal on purpose.
    files: ['host/cli/**', 'test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
