import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The end-to-end file starts a real chain and vault; everything else is quick.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
