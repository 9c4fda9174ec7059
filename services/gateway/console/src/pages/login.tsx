import { useState } from 'preact/hooks';
import { ApiFailure, call, describeError, session } from '../api';

/**
 * Asks for the API key once per browser session. The key is checked against the API before it
 * is kept, so a wrong one is refused here with the gateway's 401 message.
 */
export function Login({ onSignIn }: { onSignIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [message, setMessage] = useState(() => session.takeReason());
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const entered = key.trim();
    if (!entered) return setMessage('Enter an API key.');
    setBusy(true);
    try {
      await call('/api/behaviors', { key: entered });
      onSignIn(entered);
    } catch (error) {
      setMessage(
        error instanceof ApiFailure && error.status === 401
          ? `The API key was refused: ${error.message} (401).`
          : `The gateway did not answer as expected: ${describeError(error)}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form onSubmit={(event) => void submit(event)} id="login">
        <h1>Drover console</h1>
        <label>
          API key
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            value={key}
            onInput={(event) => setKey(event.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {message ? (
          <p class="error" role="alert" id="login-error">
            {message}
          </p>
        ) : null}
        <p class="hint">The key is kept in this tab only (session storage) and sent with every call.</p>
      </form>
    </main>
  );
}
