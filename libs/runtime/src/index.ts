export * from './logger';
export * from './clock';
export * from './async/with-timeout';
export * from './async/until-aborted';
export * from './config/env.schema';
export * from './config/profile.schema';
export * from './config/load-config';
export * from './egress/egress-policy';
