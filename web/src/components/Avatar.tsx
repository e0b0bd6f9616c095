import type { User } from '../types';
import { avatarColor, displayName, initials } from '../util';

export function Avatar({ user, size = 36, presence }: { user: User | null; size?: number; presence?: string }) {
  return (
    <span class={`avatar avatar-${size}`} style={{ backgroundColor: avatarColor(user?.id) }} aria-hidden="true">
      {initials(user)}
      {presence && <span class={`presence-dot ${presenceClass(presence)}`} />}
    </span>
  );
}

export function presenceClass(status: string): string {
  switch (status) {
    case 'online':
      return 'p-online';
    case 'away':
      return 'p-away';
    case 'busy':
      return 'p-busy';
    case 'invisible':
      return 'p-invisible';
    default:
      return 'p-offline';
  }
}

export function presenceLabel(status: string): string {
  switch (status) {
    case 'online':
    case 'away':
    case 'busy':
    case 'invisible':
      return status;
    default:
      return 'offline';
  }
}

export function UserName({ user }: { user: User | null }) {
  return <span class="user-name">{displayName(user)}</span>;
}
