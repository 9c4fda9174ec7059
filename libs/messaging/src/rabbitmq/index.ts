export * from './rabbitmq-bus';
export { queueDeclarations, topologyDeclarations, type QueueDeclaration } from './rabbitmq-config';
export {
  applyPolicy,
  deadLetterPolicy,
  deadLetterQueueNames,
  managementEndpoint,
  DEAD_LETTER_POLICY,
  type DeadLetterBounds,
  type ManagementEndpoint,
  type RabbitPolicy,
} from './rabbitmq-policies';
export { brokerUrls } from './broker-urls';
