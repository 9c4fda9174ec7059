/**
 * The secret values published in deploy/secrets.example. They are in the repository (and so in
 * every fork and search engine), so a service that finds one in its configuration refuses to
 * start: a deployment that forgot to make its own secrets fails at once instead of running with
 * passwords anyone can read. load-config.spec.ts reads every file of deploy/secrets.example and
 * fails when one of its values is missing here, so the list and the files cannot drift.
 *
 * `guest` is deliberately absent: RabbitMQ only lets `guest` log in over loopback, and local
 * development and CI use amqp://guest:guest@127.0.0.1.
 */
export const PUBLISHED_PLACEHOLDERS: ReadonlySet<string> = new Set([
  // api_keys.txt
  'PLACEHOLDER-not-a-real-key-0000',
  // secrets_key.txt (the key of its only line)
  'ZHJvdmVyLWV4YW1wbGUta2V5LW5vdC1hLXNlY3JldCE=',
  // rabbitmq_password.txt, rabbitmq_operator_password.txt, rabbitmq_url_<service>.txt
  'placeholder-change-me',
  'placeholder-operator-change-me',
  'placeholder-engine-change-me',
  'placeholder-gateway-change-me',
  'placeholder-session-agent-change-me',
  'placeholder-persistence-agent-change-me',
  'placeholder-scheduler-change-me',
  'placeholder-bootstrap-change-me',
  // mongo_url.txt, mongo_root_password.txt, mongo_keyfile.txt, redis_url.txt
  'placeholder-mongo-change-me',
  'placeholder-mongo-root-change-me',
  'placeholderMongoKeyfileChangeMe',
  'placeholder-redis-change-me',
  // grafana_admin_password.txt (Grafana's, listed so that nobody reuses it for Drover)
  'placeholder-grafana-admin',
]);

/** The password of every URL in a value (RABBITMQ_URL may list several nodes), percent-decoded. */
export function urlPasswords(value: string): string[] {
  return value.split(',').flatMap((url) => {
    const match = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url.trim());
    const userinfo = match?.[1];
    if (userinfo === undefined || !userinfo.includes(':')) return [];
    const password = userinfo.slice(userinfo.indexOf(':') + 1);
    try {
      return [decodeURIComponent(password)];
    } catch {
      return [password];
    }
  });
}

/** The keys of a key ring (`<key id>:<base64 key>` lines, `#` comments). */
export function keyRingKeys(value: string): string[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.slice(line.indexOf(':') + 1).trim());
}

export interface SecretSettings {
  DROVER_API_KEYS?: string[] | undefined;
  DROVER_SECRETS_KEY?: string | undefined;
  RABBITMQ_URL?: string | undefined;
  RABBITMQ_MANAGEMENT_URL?: string | undefined;
  MONGO_URL?: string | undefined;
  REDIS_URL?: string | undefined;
}

/**
 * Which settings hold a published placeholder, one line each naming the variable (never the
 * value: it is public, but the line goes to logs where a real secret must not).
 */
export function placeholderProblems(env: SecretSettings): string[] {
  const problems: string[] = [];
  const isPlaceholder = (value: string) => PUBLISHED_PLACEHOLDERS.has(value);
  if ((env.DROVER_API_KEYS ?? []).some(isPlaceholder)) {
    problems.push('DROVER_API_KEYS holds an API key published in deploy/secrets.example');
  }
  if (env.DROVER_SECRETS_KEY && keyRingKeys(env.DROVER_SECRETS_KEY).some(isPlaceholder)) {
    problems.push('DROVER_SECRETS_KEY holds the key published in deploy/secrets.example');
  }
  for (const name of ['RABBITMQ_URL', 'RABBITMQ_MANAGEMENT_URL', 'MONGO_URL', 'REDIS_URL'] as const) {
    const value = env[name];
    if (value && urlPasswords(value).some(isPlaceholder)) {
      problems.push(`${name} holds a password published in deploy/secrets.example`);
    }
  }
  return problems;
}
