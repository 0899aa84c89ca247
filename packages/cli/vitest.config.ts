import { defineProject } from 'vitest/config';
import { packageProject } from '../../vitest.shared.ts';

export default defineProject(packageProject('cli', { globalSetup: ['./test/global-setup.ts'] }));
