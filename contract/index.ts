export * from './identity.js';
export * from './line-id.js';
export * from './record.js';
export * from './names.js';
export * from './documents.js';
export * from './retry.js';
export * from './config.js';
export * from './log.js';
