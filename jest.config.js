// Jest runs TypeScript through ts-jest without type-checking (isolatedModules, set in tsconfig.json): `npm run typecheck` runs tsc
// once for the whole tree, which is far cheaper than type-checking every suite with azure-native in the graph.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
};
