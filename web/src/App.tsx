// Two pages in one bundle: /login and /chat (the server serves index.html for both).
import { useEffect, useState } from 'preact/hooks';
import { LoginPage } from './components/LoginPage';
import { ChatPage } from './components/ChatPage';
import { api } from './api';
import { clearSession, getStoredUser, saveUser } from './session';
import type { User } from './types';

type Route = { page: 'login' } | { page: 'chat'; user: User } | { page: 'loading' };

export function navigate(path: string): void {
  window.history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function App() {
  const [route, setRoute] = useState<Route>({ page: 'loading' });

  useEffect(() => {
    let cancelled = false;
    const resolve = async () => {
      const path = window.location.pathname;
      if (path.startsWith('/login')) {
        setRoute({ page: 'login' });
        document.title = 'Sign in · EventSync Chat';
        return;
      }
      const stored = getStoredUser();
      if (stored) setRoute({ page: 'chat', user: stored });
      try {
        const me = await api.me();
        const user = 'user' in me && (me as { user?: User }).user ? (me as { user: User }).user : (me as User);
        if (cancelled) return;
        saveUser(user);
        setRoute((r) => (r.page === 'chat' && r.user.id === user.id ? r : { page: 'chat', user }));
      } catch (e) {
        if (cancelled) return;
        if ((e as { status?: number }).status === 401) {
          clearSession();
          window.history.replaceState(null, '', '/login');
          setRoute({ page: 'login' });
        } else if (!stored) {
          // Server unreachable and nothing cached: the login page explains.
          window.history.replaceState(null, '', '/login');
          setRoute({ page: 'login' });
        }
      }
    };
    void resolve();
    const onPop = () => void resolve();
    window.addEventListener('popstate', onPop);
    return () => {
      cancelled = true;
      window.removeEventListener('popstate', onPop);
    };
  }, []);

  if (route.page === 'loading') return <div class="splash" role="status">Loading…</div>;
  if (route.page === 'login') return <LoginPage onSignedIn={() => navigate('/chat')} />;
  return <ChatPage key={String(route.user.id)} me={route.user} />;
}
