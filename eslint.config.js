// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    // The data seam (issue 11): services, routes, warmers and the HTTP layer see the data ports
    // (deps.data) only, never the SQL database or an adapter, so another database's adapters
    // can replace them. server.ts and db/ build the adapters.
    files: ['src/app/*/*.service.ts', 'src/app/*/*.routes.ts', 'src/app/*/*.data.ts', 'src/app/*/*.rules.ts', 'src/app/http/**/*.ts', 'src/app/app.ts', 'src/app/routes.ts', 'src/app/warm.ts', 'src/app/deps.ts', 'src/app/data.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/db/*', '!**/db/passwords.ts', '**/*.sql.ts'],
              message: 'Use the data ports (deps.data, <domain>.data.ts): only server.ts, db/ and the *.sql.ts adapters know the database.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
