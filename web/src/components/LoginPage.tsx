import { useState } from 'preact/hooks';
import { api } from '../api';
import { saveSession } from '../session';

export function LoginPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const res = mode === 'login' ? await api.login(username.trim(), password) : await api.register(username.trim(), password, displayName.trim());
      saveSession(res.token, res.user);
      onSignedIn();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const register = mode === 'register';
  return (
    <main class="login-page">
      <div class="login-card">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          <span>EventSync Chat</span>
        </div>
        <h1>{register ? 'Create your account' : 'Sign in'}</h1>
        <div class="tabs" role="tablist" aria-label="Sign in or create an account">
          <button type="button" role="tab" id="tab-login" aria-selected={!register} aria-controls="auth-form" class={!register ? 'tab active' : 'tab'}
            onClick={() => { setMode('login'); setError(null); }}>Sign in</button>
          <button type="button" role="tab" id="tab-register" aria-selected={register} aria-controls="auth-form" class={register ? 'tab active' : 'tab'}
            onClick={() => { setMode('register'); setError(null); }}>Create account</button>
        </div>
        <form id="auth-form" role="tabpanel" aria-labelledby={register ? 'tab-register' : 'tab-login'} onSubmit={submit} noValidate={false}>
          <label for="username">Username</label>
          <input id="username" name="username" autoComplete="username" required minLength={3} maxLength={32}
            pattern="[A-Za-z0-9_.\-]{3,32}" value={username} onInput={(e) => setUsername(e.currentTarget.value)}
            aria-describedby={register ? 'username-hint' : undefined} />
          {register && <p id="username-hint" class="hint">3–32 letters, digits, dots, dashes or underscores.</p>}
          {register && (
            <>
              <label for="display-name">Display name <span class="optional">(optional)</span></label>
              <input id="display-name" name="display_name" autoComplete="nickname" maxLength={64} value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)} />
            </>
          )}
          <label for="password">Password</label>
          <input id="password" name="password" type="password" required autoComplete={register ? 'new-password' : 'current-password'}
            value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          {error && <p class="form-error" role="alert">{error}</p>}
          <button class="btn primary wide" type="submit" disabled={busy}>
            {busy ? 'Please wait…' : register ? 'Create account' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
