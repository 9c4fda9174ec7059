export * from './http';
export * from './service-process';
export * from './rabbitmq-vhost';
export * from './skip';
export * from './settlements';
export * from './tcp-relay';
export * from './publish-commands';
export * from './run-profile';
