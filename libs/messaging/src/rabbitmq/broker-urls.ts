/**
 * `RABBITMQ_URL` names one broker, or the nodes of one RabbitMQ cluster separated by commas
 * (`amqp://u:p@rabbit-1:5672,amqp://u:p@rabbit-2:5672,...`). Every connection (rascal's and the
 * admin one) tries the nodes in turn until one answers, and again after a node dies, so a
 * service reconnects to a surviving node by itself. The nodes must agree on the user (the
 * broker checks each message's `user_id` against it) and the virtual host.
 */
export function brokerUrls(spec: string): string[] {
  const urls = spec
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('RABBITMQ_URL names no broker');
  const parsed = urls.map((url) => {
    let value: URL;
    try {
      value = new URL(url);
    } catch {
      throw new Error(`RABBITMQ_URL: "${redactPassword(url)}" is not a URL`);
    }
    if (value.protocol !== 'amqp:' && value.protocol !== 'amqps:') {
      throw new Error(`RABBITMQ_URL: "${redactPassword(url)}" is not an amqp:// or amqps:// URL`);
    }
    return value;
  });
  const first = parsed[0]!;
  for (const node of parsed.slice(1)) {
    if (node.username !== first.username || node.pathname !== first.pathname) {
      throw new Error(
        `RABBITMQ_URL: every node of the cluster needs the same user and virtual host (${first.host} and ${node.host} differ)`,
      );
    }
  }
  return urls;
}

/** The broker URL with its password replaced by `***`, for messages. */
function redactPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
