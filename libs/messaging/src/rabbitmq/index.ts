export * from './rabbitmq-bus';
export { queueDeclarations, type QueueDeclaration } from './rabbitmq-config';
