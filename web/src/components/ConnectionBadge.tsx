import type { Connection } from '../store';

const LABEL: Record<Connection, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

export function ConnectionBadge({ state }: { state: Connection }) {
  return (
    <span class={`conn conn-${state}`} role="status" aria-label={`Connection: ${LABEL[state]}`} data-state={state}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-text">{LABEL[state]}</span>
    </span>
  );
}

export function ConnectionBanner({ state, ever }: { state: Connection; ever: boolean }) {
  if (state === 'connected' || (!ever && state === 'connecting')) return null;
  return (
    <div class="conn-banner" role="status">
      {state === 'offline' ? 'You are offline. Messages will be sent when the connection is back.' : 'Connection lost. Reconnecting…'}
    </div>
  );
}
