export * from './clixml/value.ts';
