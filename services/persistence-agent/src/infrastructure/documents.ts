import type { Filter } from '@drover/contracts';
import { DuplicateKeyError, type Collection, type Doc } from '@drover/store';

/**
 * Sets fields on one document, creating it when absent; safe against a concurrent creator
 * (another replica, or another consumer of this one).
 */
export async function mergeDocument(
  collection: Collection,
  id: string,
  set: Record<string, unknown>,
  onCreate: Record<string, unknown> = {},
): Promise<void> {
  const byId = { field: '_id', op: 'eq', value: id } as const;
  if ((await collection.update(byId, { set })) > 0) return;
  try {
    await collection.insert({ ...onCreate, ...set, _id: id });
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    await collection.update(byId, { set });
  }
}

/** Inserts a document whose id makes it idempotent; a redelivered copy is ignored. */
export async function insertOnce(collection: Collection, doc: Doc): Promise<void> {
  try {
    await collection.insert(doc);
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
  }
}

/** A stored document as the API shows it: without the store's `_id`. */
export function withoutId<T>(doc: Doc): T {
  const { _id, ...rest } = doc;
  void _id;
  return rest as T;
}

/**
 * Writes a document only when it is newer than the stored one by `order` (a version or a
 * timestamp), atomically per write, so replicas and concurrent consumers never roll it back.
 */
export async function replaceIfNewer(
  collection: Collection,
  id: string,
  order: { field: string; value: string | number },
  set: Record<string, unknown>,
  unset: string[] = [],
): Promise<void> {
  const older: Filter = {
    and: [
      { field: '_id', op: 'eq', value: id },
      { field: order.field, op: 'lt', value: order.value },
    ],
  };
  const { _id, ...fields } = set;
  void _id; // the id is the filter's; an update may not touch it
  const update = unset.length ? { set: fields, unset } : { set: fields };
  if ((await collection.update(older, update)) > 0) return;
  try {
    await collection.insert({ ...fields, _id: id });
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    await collection.update(older, update);
  }
}
