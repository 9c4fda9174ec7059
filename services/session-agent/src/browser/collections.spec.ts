import { describe, expect, it } from '@jest/globals';
import { SessionCollections } from '@drover/contracts';
import { AGENT_STATE_COLLECTION } from './bus-agent-storage';
import { COOKIE_COLLECTION } from './cookie-store';

/** The persistence agent lets session agents touch `SessionCollections` only: the names must be the ones used here. */
describe('session-agent collections', () => {
  it('are the ones the persistence agent lets session agents use', () => {
    expect([COOKIE_COLLECTION, AGENT_STATE_COLLECTION].sort()).toEqual(Object.values(SessionCollections).sort());
  });
});
