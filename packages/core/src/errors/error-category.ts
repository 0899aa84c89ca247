import { ERROR_CATEGORY_NAMES } from '@psremote/psrp';

/** PowerShell's `System.Management.Automation.ErrorCategory`, by name (the numeric value is the index). */
export const ERROR_CATEGORIES = ERROR_CATEGORY_NAMES;

export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];
