import type { Filter, Update } from '@drover/contracts';
import type { Db, Collection as MongoCollection } from 'mongodb';
import { type Collection, type Doc, type Documents, DuplicateKeyError, type FindOptions } from '../documents.port';
import { duplicateKeyOf, isDuplicateKeyError, isPartialIndexNotImplemented } from './mongo-errors';
import { assertMongoFieldPath, toMongoFilter, toMongoSort, toMongoUpdate } from './mongo-translate';

const COLLECTION_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Document collection `name` lives in the MongoDB collection `d_<name>`, so no caller-chosen
 * name can clash with the adapter's own `commits` and `leases` collections.
 */
export const DOCUMENT_COLLECTION_PREFIX = 'd_';

/** Document collections, one MongoDB collection each. */
export class MongoDocuments implements Documents {
  constructor(private readonly db: Db) {}

  collection(name: string): Collection {
    if (!COLLECTION_NAME.test(name)) throw new Error(`invalid collection name "${name}"`);
    return new MongoDocCollection(this.db.collection<Doc>(`${DOCUMENT_COLLECTION_PREFIX}${name}`), name);
  }
}

class MongoDocCollection implements Collection {
  constructor(
    private readonly docs: MongoCollection<Doc>,
    private readonly name: string,
  ) {}

  async find(filter?: Filter, options: FindOptions = {}): Promise<Doc[]> {
    // MongoDB reads limit 0 as "no limit"; the port (like SQLite's LIMIT 0) means none.
    if (options.limit === 0) return [];
    const cursor = this.docs.find(toMongoFilter(filter)).sort(toMongoSort(options.sort));
    if (options.skip !== undefined && options.skip > 0) cursor.skip(options.skip);
    if (options.limit !== undefined && options.limit > 0) cursor.limit(options.limit);
    return cursor.toArray();
  }

  async findOne(filter?: Filter): Promise<Doc | undefined> {
    const [first] = await this.find(filter, { limit: 1 });
    return first;
  }

  async get(id: string): Promise<Doc | undefined> {
    return (await this.docs.findOne({ _id: id })) ?? undefined;
  }

  async insert(doc: Doc): Promise<void> {
    await this.write(() => this.docs.insertOne(doc));
  }

  async upsert(doc: Doc): Promise<void> {
    await this.write(() => this.docs.replaceOne({ _id: doc._id }, doc, { upsert: true }));
  }

  /**
   * updateMany: each document is updated atomically, but (unlike the SQLite adapter's transaction)
   * not all matches together; a unique-index violation stops it part way with DuplicateKeyError.
   */
  async update(filter: Filter, update: Update): Promise<number> {
    const operators = toMongoUpdate(update);
    const query = toMongoFilter(filter);
    if (!operators) return 0;
    const { modifiedCount } = await this.write(() => this.docs.updateMany(query, operators));
    return modifiedCount;
  }

  async delete(filter: Filter): Promise<number> {
    const { deletedCount } = await this.docs.deleteMany(toMongoFilter(filter));
    return deletedCount;
  }

  async count(filter?: Filter): Promise<number> {
    return this.docs.countDocuments(toMongoFilter(filter));
  }

  /**
   * createIndex is idempotent for the same fields and options. A unique index only covers
   * documents that have every indexed field (a partial index), so documents lacking the field do
   * not collide with each other, as in SQLite, where a missing field indexes as NULL and NULLs never
   * collide. (One difference remains: an explicit `null` value is indexed and does collide.)
   *
   * FerretDB 1.24 (the CI server) refuses `partialFilterExpression` as not implemented; there, and
   * only there, the index is created without it. That keeps the same meaning: FerretDB indexes a
   * missing field as SQL NULL, which never collides, and an explicit `null` as JSON `null`, which
   * does (ARCHITECTURE.md, "MongoDB 7 vs FerretDB 1.24"; pinned by the int spec).
   */
  async ensureIndex(fields: string[], options: { unique?: boolean } = {}): Promise<void> {
    if (fields.length === 0) throw new Error('an index needs at least one field');
    const keys = fields.map(assertMongoFieldPath);
    const spec = Object.fromEntries(keys.map((field): [string, 1] => [field, 1]));
    if (options.unique) {
      const present = Object.fromEntries(keys.map((field) => [field, { $exists: true }]));
      try {
        await this.docs.createIndex(spec, { unique: true, partialFilterExpression: present });
      } catch (error) {
        if (!isPartialIndexNotImplemented(error)) throw error;
        await this.docs.createIndex(spec, { unique: true });
      }
    } else {
      await this.docs.createIndex(spec);
    }
  }

  /** Runs a write, mapping `_id` and unique-index violations to DuplicateKeyError. */
  private async write<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new DuplicateKeyError(this.name, duplicateKeyOf(error));
      throw error;
    }
  }
}
