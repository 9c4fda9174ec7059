// The port, outcomes and topology only: the adapters (`@drover/messaging/in-memory`,
// `@drover/messaging/rabbitmq`) and the Nest transport (`@drover/messaging/nest`) have their
// own entry points, so a process loads the broker client and framework it runs on and no other.
export * from './bus.port';
export * from './bus-decorator';
export * from './outcomes';
export { MAX_MESSAGE_BYTES } from './delivery-policy';
export * from './parse-or-dead-letter';
export * from './topology';
export * from './sender-guard';
