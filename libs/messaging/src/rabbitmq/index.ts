export * from './rabbitmq-bus';
export { queueDeclarations, topologyDeclarations, type QueueDeclaration } from './rabbitmq-config';
