export * from './logger';
export * from './clock';
export * from './config/env.schema';
export * from './config/profile.schema';
export * from './config/load-config';
