export * from './social-feed.schema';
export * from './social-feed.behavior';
