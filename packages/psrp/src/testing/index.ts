export * from './fake-server.ts';
export * from './host-data.ts';
