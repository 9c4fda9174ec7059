export { openMongoStore, type MongoStoreOptions } from './mongo-store';
export { toMongoFilter, toMongoSort, toMongoUpdate } from './mongo-translate';
