import { defineProject } from 'vitest/config';
import { packageProject } from '../../vitest.shared.ts';

export default defineProject(packageProject('transport-winrm', { globalSetup: ['./test/global-setup.ts'] }));
