import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { session } from './api';
import { useRoute } from './route';
import { AgentPage } from './pages/agent';
import { DeadLettersPage } from './pages/dead-letters';
import { FleetPage } from './pages/fleet';
import { LoadPage } from './pages/load';
import { Login } from './pages/login';
import { StartPage } from './pages/start';

/** The console: the login form until a key is kept, then the page the URL's fragment names. */
function App() {
  const [key, setKey] = useState(session.key());
  const route = useRoute();
  useEffect(() => session.onSignOut(() => setKey(undefined)), []);

  if (!key) {
    return (
      <Login
        onSignIn={(entered) => {
          session.signIn(entered);
          setKey(entered);
        }}
      />
    );
  }
  const [page, id] = route;
  return (
    <>
      <header class="top">
        <strong>Drover</strong>
        <nav>
          <a href="#/agents" class={page === 'agents' ? 'here' : ''}>
            Agents
          </a>
          <a href="#/start" class={page === 'start' ? 'here' : ''}>
            Start an agent
          </a>
          <a href="#/load" class={page === 'load' ? 'here' : ''}>
            Load
          </a>
          <a href="#/dead-letters" class={page === 'dead-letters' ? 'here' : ''}>
            Dead letters
          </a>
        </nav>
        <button type="button" class="link" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'agents' && id ? <AgentPage key={id} agentId={id} /> : null}
        {page === 'agents' && !id ? <FleetPage /> : null}
        {page === 'start' ? <StartPage /> : null}
        {page === 'load' ? <LoadPage /> : null}
        {page === 'dead-letters' ? <DeadLettersPage key={id ?? ''} queue={id} /> : null}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
