export { findPwsh } from './find-pwsh.ts';
