import { defineConfig } from 'vitest/config';

// Each package is its own vitest project (its own globalSetup for the real peers it needs).
export default defineConfig({
  test: {
    projects: ['packages/*'],
  },
});
