import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A neutral locale for the tests and the commands they start (wirestep follows LANG).
    setupFiles: ['test/helpers/locale.ts'],
    // Ceilings for a hung test, not timing windows: on two busy cores a 3 MiB tshark run or a
    // Chromium page load can take a minute, and a test that passes is never slowed by them.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Socket tests open real ports and processes: two workers on the two cores.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
