export * from './bus.port';
export * from './outcomes';
export * from './parse-or-dead-letter';
export * from './topology';
export * from './in-memory/in-memory-bus';
export * from './nest';
export * from './rabbitmq/rabbitmq-bus';
