import { useEffect, useMemo, useState } from 'preact/hooks';
import { call, describeError } from '../api';
import { parseLabels } from '../agents';
import { ErrorLine } from '../components';
import { configTemplate, secretFieldsOf } from '../schema';
import { agentHref } from '../route';
import type { Behavior, CommandAnswer } from '../types';

/**
 * Starts an agent: a behaviour from `GET /api/behaviors`, its config as JSON (pre-filled from
 * the behaviour's JSON Schema), each secret field as a password input (never shown back), and
 * labels. The gateway validates; a 400 names every bad field.
 */
export function StartPage() {
  const [behaviors, setBehaviors] = useState<Behavior[]>([]);
  const [agentId, setAgentId] = useState('');
  const [behaviorName, setBehaviorName] = useState('');
  const [configText, setConfigText] = useState('{}');
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [labelText, setLabelText] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    call<{ items: Behavior[] }>('/api/behaviors').then(
      (list) => {
        setBehaviors(list.items);
        if (list.items[0]) choose(list.items[0]);
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, []);

  const behavior = useMemo(() => behaviors.find((b) => b.name === behaviorName), [behaviors, behaviorName]);
  const secretFields = behavior ? secretFieldsOf(behavior.configSchema) : [];

  function choose(next: Behavior) {
    setBehaviorName(next.name);
    setConfigText(JSON.stringify(configTemplate(next.configSchema), null, 2));
    setSecrets({});
  }

  const submit = async (event: Event) => {
    event.preventDefault();
    let config: Record<string, unknown>;
    try {
      const parsed = JSON.parse(configText) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      config = parsed as Record<string, unknown>;
    } catch (failure) {
      return setError(`config: not a JSON object (${describeError(failure)})`);
    }
    for (const [field, value] of Object.entries(secrets)) if (value !== '') config[field] = value;
    const labels = parseLabels(labelText);
    if ('error' in labels) return setError(`labels: ${labels.error}`);
    const body = {
      agentId: agentId.trim(),
      behavior: behaviorName,
      config,
      ...(Object.keys(labels.labels).length ? { labels: labels.labels } : {}),
    };
    setBusy(true);
    try {
      const answer = await call<CommandAnswer>('/api/agents', { method: 'POST', body });
      location.hash = agentHref(answer.agentId);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Start an agent</h1>
      <form id="start-form" class="start" onSubmit={(event) => void submit(event)}>
        <label>
          Agent id
          <input
            id="start-agent-id"
            required
            placeholder="letters, digits, . _ -"
            value={agentId}
            onInput={(event) => setAgentId(event.currentTarget.value)}
          />
        </label>
        <label>
          Behaviour
          <select
            id="start-behavior"
            value={behaviorName}
            onChange={(event) => {
              const next = behaviors.find((b) => b.name === event.currentTarget.value);
              if (next) choose(next);
            }}
          >
            {behaviors.map((b) => (
              <option value={b.name}>{b.name}</option>
            ))}
          </select>
        </label>
        {behavior ? <p class="muted">{behavior.description}</p> : null}
        <label>
          Config (JSON)
          <textarea
            id="start-config"
            rows={10}
            spellcheck={false}
            value={configText}
            onInput={(event) => setConfigText(event.currentTarget.value)}
          />
        </label>
        {secretFields.map((field) => (
          <label>
            {field} (secret: sealed by the gateway, never shown again)
            <input
              type="password"
              autocomplete="new-password"
              name={field}
              value={secrets[field] ?? ''}
              onInput={(event) => setSecrets({ ...secrets, [field]: event.currentTarget.value })}
            />
          </label>
        ))}
        <label>
          Labels
          <input
            id="start-labels"
            placeholder="team=growth, env=prod"
            value={labelText}
            onInput={(event) => setLabelText(event.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Start
        </button>
        <ErrorLine error={error} />
      </form>
    </section>
  );
}
