import { describe, expect, it } from '@jest/globals';
import type { PersistenceTask } from '@drover/contracts';
import { taskAccessError } from './task-access';

const find = (collection: string): PersistenceTask => ({ op: 'find', collection });
const upsert = (collection: string): PersistenceTask => ({ op: 'upsert', collection, id: 'x', document: {} });

describe('generic task access by the sender role', () => {
  it('lets session agents read and write their cookies and behaviour state, and nothing else', () => {
    for (const collection of ['agent_cookies', 'agent_state']) {
      expect(taskAccessError(find(collection), 'session-agent')).toBe(undefined);
      expect(taskAccessError(upsert(collection), 'session-agent')).toBe(undefined);
    }
    expect(taskAccessError(upsert('profiles'), 'session-agent')).toBe(
      'the session-agent may not write collection profiles (it may write: agent_cookies, agent_state)',
    );
    expect(taskAccessError(find('agents'), 'session-agent')).toMatch(/may not read collection agents/);
  });

  it('lets the gateway read agents and activities only', () => {
    expect(taskAccessError(find('agents'), 'gateway')).toBe(undefined);
    expect(taskAccessError({ op: 'count', collection: 'activities' }, 'gateway')).toBe(undefined);
    expect(taskAccessError(upsert('agents'), 'gateway')).toMatch(
      /may not write collection agents \(it may write: none\)/,
    );
    expect(taskAccessError(find('agent_cookies'), 'gateway')).toMatch(/may not read collection agent_cookies/);
  });

  it('lets operators read anything and write anything but the read side', () => {
    expect(taskAccessError(find('commands'), 'operator')).toBe(undefined);
    expect(taskAccessError(upsert('profiles'), 'operator')).toBe(undefined);
    for (const internal of ['agents', 'activities', 'commands', 'session_agents']) {
      expect(taskAccessError(upsert(internal), 'operator')).toMatch(/may not write collection/);
    }
  });

  it('gives the services that need no tasks none', () => {
    for (const role of ['engine', 'scheduler', 'bootstrap', 'persistence-agent'] as const) {
      expect(taskAccessError(find('agent_cookies'), role)).toMatch(/it may read: none/);
    }
  });

  it('keeps the rule of one shared broker user when senders are not told apart', () => {
    expect(taskAccessError(upsert('profiles'), undefined)).toBe(undefined);
    expect(taskAccessError(find('agents'), undefined)).toBe(undefined);
    expect(taskAccessError(upsert('agents'), undefined)).toMatch(/may not write collection agents/);
  });
});
