/** Names of the exchanges and routing keys every service agrees on (docs/design.md, section 4). */
export const Exchanges = {
  commands: 'drover.commands',
  reports: 'drover.reports',
  dispatch: 'drover.dispatch',
  events: 'drover.events',
  persistence: 'drover.persistence',
  dead: 'drover.dead',
} as const;

export const RoutingKeys = {
  pendingSessions: 'pending',
  persistenceTask: 'task',
  readQuery: 'query',
  heartbeat: 'session.heartbeat',
} as const;
