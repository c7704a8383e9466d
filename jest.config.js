// Tests are TypeScript compiled by `tsc -b` into tests/dist; Jest runs the compiled ESM as it is.
export default {
  testEnvironment: "node",
  transform: {},
  roots: ["<rootDir>/tests/dist"],
  testMatch: ["**/*.test.js"],
  testTimeout: 120_000,
  maxWorkers: 2,
};
