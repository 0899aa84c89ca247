import { defineProject } from 'vitest/config';
import { packageProject } from '../../vitest.shared.ts';

export default defineProject(
  packageProject('transport-process', { globalSetup: ['./test/global-setup.ts'] }),
);
