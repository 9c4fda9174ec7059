export * from './persistence-agent';
