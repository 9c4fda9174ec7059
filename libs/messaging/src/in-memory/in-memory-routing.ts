import type { BindingSpec, ExchangeSpec } from '../bus.port';

/** Whether a binding pattern matches a routing key on an exchange of the given type. */
export function bindingMatches(type: ExchangeSpec['type'], pattern: string, routingKey: string): boolean {
  switch (type) {
    case 'fanout':
      return true;
    case 'direct':
      return pattern === routingKey;
    case 'topic':
      return topicMatches(pattern.split('.'), routingKey.split('.'));
  }
}

/** AMQP topic matching: `*` is exactly one word, `#` zero or more words. */
function topicMatches(pattern: string[], words: string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return words.length === 0;
  if (head === '#') {
    for (let skip = 0; skip <= words.length; skip += 1) {
      if (topicMatches(rest, words.slice(skip))) return true;
    }
    return false;
  }
  const [word, ...remaining] = words;
  if (word === undefined) return false;
  return (head === '*' || head === word) && topicMatches(rest, remaining);
}

/** Adds the bindings a queue does not have yet (declaring twice is idempotent, as on a broker). */
export function addBindings(existing: BindingSpec[], bindings: readonly BindingSpec[]): void {
  for (const binding of bindings) {
    const known = existing.some((b) => b.exchange === binding.exchange && b.pattern === binding.pattern);
    if (!known) existing.push({ ...binding });
  }
}
