import { randomUUID } from 'node:crypto';
import { INTERNAL_COLLECTIONS, type PersistenceReply, type PersistenceTask } from '@drover/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { DuplicateKeyError, STORE, type Store } from '@drover/store';
import { staleSessionReasonFor } from '../infrastructure/session-currency';

const WRITES = new Set(['insert', 'update', 'upsert', 'delete']);

/**
 * Generic storage for behaviours and operators: find, findOne, insert, update, upsert, delete and
 * count on any collection, in the store-neutral filter language. The read side's own
 * collections may be read but never written this way. A write made for a session (`session`:
 * cookie saves, a behaviour's state) is refused once that session is no longer the agent's
 * current one, so a session agent that lost its lease cannot overwrite its successor's data.
 */
@Injectable()
export class PersistenceTasks {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async run(task: PersistenceTask): Promise<PersistenceReply> {
    if (WRITES.has(task.op) && INTERNAL_COLLECTIONS.includes(task.collection)) {
      return {
        ok: false,
        error: { code: 'forbidden', message: `${task.collection} is maintained by Drover and is read-only here` },
      };
    }
    if ('session' in task && task.session) {
      const { agentId, ...claim } = task.session;
      const stale = await staleSessionReasonFor(this.store, agentId, claim);
      if (stale) return { ok: false, error: { code: 'stale_session', message: stale } };
    }
    try {
      return { ok: true, result: await this.execute(task) };
    } catch (error) {
      if (error instanceof DuplicateKeyError) return { ok: false, error: { code: 'conflict', message: error.message } };
      throw error;
    }
  }

  private async execute(task: PersistenceTask): Promise<unknown> {
    const collection = this.store.documents.collection(task.collection);
    switch (task.op) {
      case 'find':
        return collection.find(task.filter, {
          ...(task.sort ? { sort: task.sort } : {}),
          limit: task.limit ?? 100,
          ...(task.skip ? { skip: task.skip } : {}),
        });
      case 'findOne':
        return (await collection.findOne(task.filter)) ?? null;
      case 'insert': {
        const id = typeof task.document._id === 'string' ? task.document._id : randomUUID();
        await collection.insert({ ...task.document, _id: id });
        return { id };
      }
      case 'update':
        return { modified: await collection.update(task.filter, task.update) };
      case 'upsert':
        await collection.upsert({ ...task.document, _id: task.id });
        return { id: task.id };
      case 'delete':
        return { deleted: await collection.delete(task.filter) };
      case 'count':
        return { count: await collection.count(task.filter) };
    }
  }
}
