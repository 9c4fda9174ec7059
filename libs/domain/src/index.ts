export * from './agent.state';
export * from './recovery-policy';
export * from './decide';
export * from './evolve';
export * from './agent-view';
export * from './session-currency';
