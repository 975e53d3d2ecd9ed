// Jest runs TypeScript through ts-jest without type-checking (isolatedModules, set in tsconfig.json): `npm run typecheck` runs tsc
// once for the whole tree, which is far cheaper than type-checking every suite with azure-native in the graph.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "<rootDir>/test/support/nodeEnvironment.js",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 60000,
  // A suite that loads the Pulumi runtime and azure-native leaves hundreds of MB behind (module registries, the
  // runtime's process listeners) that no later suite frees; run in one process, the suite grew past 20 GB on 2 cores.
  // With a limit, Jest runs the suites in a worker process and replaces it after any suite that leaves its heap
  // above the limit (it then uses workers even where it would run in band).
  workerIdleMemoryLimit: "1GB",
  reporters: ["default", "<rootDir>/test/support/summaryReporter.js"],
};
