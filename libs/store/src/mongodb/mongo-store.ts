import { MongoClient } from 'mongodb';
import type { Store } from '../store.port';
import { MongoDocuments } from './mongo-documents';
import { LEASES, type LeaseDoc, MongoLocks } from './mongo-locks';
import {
  COMMANDS,
  type CommandDoc,
  MongoAgentStreams,
  MongoOutbox,
  STREAMS,
  type StreamDoc,
  ensureStreamIndexes,
} from './mongo-streams';

export interface MongoStoreOptions {
  /** Database to use; defaults to the one named in the URL path (the driver's default otherwise). */
  dbName?: string;
}

/**
 * Opens the MongoDB store: every port over one MongoClient. Collections: `streams` (one document
 * per agent: its commits and outbox state), `commands` (which stream committed each command),
 * `leases` (locks) and `d_<name>` per document collection. Needs no transactions, so a
 * standalone server works as well as a replica set.
 */
export async function openMongoStore(url: string, options: MongoStoreOptions = {}): Promise<Store> {
  // ignoreUndefined: store `{ a: undefined }` as `{}`, as JSON (and so the SQLite adapter) does.
  const client = new MongoClient(url, { ignoreUndefined: true });
  try {
    await client.connect();
    const db = client.db(options.dbName);
    await ensureStreamIndexes(db);
    const streams = db.collection<StreamDoc>(STREAMS);
    const leases = db.collection<LeaseDoc>(LEASES);
    return {
      kind: 'mongodb',
      streams: new MongoAgentStreams(streams, db.collection<CommandDoc>(COMMANDS), leases),
      outbox: new MongoOutbox(streams),
      locks: new MongoLocks(leases),
      documents: new MongoDocuments(db),
      ping: async () => {
        await db.command({ ping: 1 });
      },
      close: async () => {
        await client.close();
      },
    };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}
