import type { Filter, Sort, Update } from '@drover/contracts';

/** A stored document; `_id` is the caller's key. */
export type Doc = { _id: string } & Record<string, unknown>;

export interface FindOptions {
  sort?: Sort;
  limit?: number;
  skip?: number;
}

export interface Collection {
  find(filter?: Filter, options?: FindOptions): Promise<Doc[]>;
  findOne(filter?: Filter): Promise<Doc | undefined>;
  get(id: string): Promise<Doc | undefined>;
  /** Fails with DuplicateKeyError when `_id` exists. */
  insert(doc: Doc): Promise<void>;
  /** Applies the update to every match; returns the number of documents changed. */
  update(filter: Filter, update: Update): Promise<number>;
  /** Replaces the whole document with this `_id`, creating it if absent. */
  upsert(doc: Doc): Promise<void>;
  delete(filter: Filter): Promise<number>;
  count(filter?: Filter): Promise<number>;
  /** Declares an index on these fields (idempotent). */
  ensureIndex(fields: string[], options?: { unique?: boolean }): Promise<void>;
}

export interface Documents {
  collection(name: string): Collection;
}

export class DuplicateKeyError extends Error {
  constructor(collection: string, id: string) {
    super(`duplicate key ${id} in ${collection}`);
    this.name = 'DuplicateKeyError';
  }
}
