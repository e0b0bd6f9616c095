// Socket.IO connection with promise-returning acks. The token is read on every
// (re)connect, so a reconnect after a server restart authenticates again by itself.
import { io, type Socket } from 'socket.io-client';
import { getToken } from './session';

export type AckOk<T> = { ok: true } & T;
export type AckErr = { ok: false; error: { code: string; message: string } };

export class AckError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

export function connectSocket(): Socket {
  return io({
    path: '/socket.io/',
    auth: (cb) => cb({ token: getToken() ?? '' }),
    withCredentials: true,
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 4000,
    randomizationFactor: 0.3,
    timeout: 8000,
  });
}

/** Emits `event` and resolves with the ack's fields, or rejects with an AckError. */
export async function emitAck<T>(socket: Socket, event: string, payload: unknown, timeoutMs = 10000): Promise<T> {
  let answer: AckOk<T> | AckErr;
  try {
    answer = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as AckOk<T> | AckErr;
  } catch {
    throw new AckError('timeout', 'The server did not answer in time.');
  }
  if (!answer || typeof answer !== 'object') throw new AckError('bad_ack', 'Unexpected answer from the server.');
  if (answer.ok === false) throw new AckError(answer.error?.code ?? 'error', answer.error?.message ?? 'Request failed.');
  return answer as T;
}
