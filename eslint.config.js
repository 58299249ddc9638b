import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'bin/**', 'scripts/*.mjs', 'test/**/*.mjs', 'bench/**/*.mjs', 'bench/out/**', 'eslint.config.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Byte-level code compares and indexes numbers constantly; these two fight that style without finding bugs.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'process.exit only in src/cli' }],
    },
  },
  { files: ['src/cli/**', 'scripts/**', 'bench/**'], rules: { 'no-restricted-properties': 'off' } },
  {
    files: ['src/engine/**', 'src/signatures/**'],
    ignores: ['src/engine/capture/**'],
    rules: { 'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'engine time comes from packets or an injected Clock' }, { object: 'process', property: 'exit' }] },
  },
  { files: ['test/**'], rules: { '@typescript-eslint/no-floating-promises': 'off' } },
);
