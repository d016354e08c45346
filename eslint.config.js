// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The "never" arrows of DESIGN.md: a folder may not import these (so a back-edge fails CI). */
const never = {
  'src/model/**': ['strategies', 'train', 'persist', 'cli', 'experiments', 'report'],
  'src/data/**': ['model', 'strategies', 'train', 'persist', 'cli'],
  'src/eval/**': ['strategies', 'persist', 'cli', 'experiments', 'report'],
  'src/strategies/**': ['cli', 'persist', 'experiments', 'report'],
  'src/report/**': ['train', 'strategies'],
  'src/backend/**': ['model', 'strategies', 'train'],
  'src/train/**': ['cli', 'report', 'persist', 'experiments', 'parallel'],
  'src/persist/**': ['cli', 'experiments', 'report', 'parallel'],
  'src/parallel/**': ['cli', 'experiments', 'report'],
};
const arrows = Object.entries(never).map(([files, folders]) => ({
  files: [files],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: folders.flatMap((f) => [`../${f}/*`, `../../${f}/*`]),
            message: `DESIGN.md: ${files.split('/')[1]}/ never imports from ${folders.join(', ')}.`,
          },
          ...(files === 'src/train/**' || files === 'src/parallel/**'
            ? [{ group: ['cli-progress'], message: `DESIGN.md: ${files.split('/')[1]}/ prints nothing.` }]
            : []),
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'results/', 'coverage/', '.tmp/', '**/*.tmp.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  ...arrows,
);
