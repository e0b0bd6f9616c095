//! Login sessions with open sockets: when one expires, its sockets are disconnected at
//! once (logout does the same through [`ChatEvent::SessionEnded`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::publish::ChatEvent;
use crate::clock::Millis;
use crate::state::AppState;

/// Sessions that have sockets on this instance, by expiry.
#[derive(Debug, Default)]
pub struct SessionWatch {
    inner: Mutex<Watched>,
}

#[derive(Debug, Default)]
struct Watched {
    by_expiry: BTreeSet<(Millis, i64)>,
    /// Open sockets per session, and its expiry.
    sockets: HashMap<i64, (usize, Millis)>,
}

impl SessionWatch {
    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A socket of the session opened.
    pub fn opened(&self, session_id: i64, expires_at: Millis) {
        let mut watched = self.lock();
        let entry = watched.sockets.entry(session_id).or_insert((0, expires_at));
        entry.0 += 1;
        watched.by_expiry.insert((expires_at, session_id));
    }

    /// A socket of the session closed.
    pub fn closed(&self, session_id: i64) {
        let mut watched = self.lock();
        if let Some((count, expires_at)) = watched.sockets.get_mut(&session_id) {
            *count -= 1;
            if *count == 0 {
                let key = (*expires_at, session_id);
                watched.sockets.remove(&session_id);
                watched.by_expiry.remove(&key);
            }
        }
    }

    /// Sessions expired by `now`, no longer watched.
    fn take_expired(&self, now: Millis) -> Vec<i64> {
        let mut watched = self.lock();
        let mut expired = Vec::new();
        while let Some(&(expires_at, session_id)) = watched.by_expiry.first() {
            if expires_at > now {
                break;
            }
            watched.by_expiry.pop_first();
            watched.sockets.remove(&session_id);
            expired.push(session_id);
        }
        expired
    }
}

/// Disconnects the sockets of sessions that expired.
pub async fn tick(state: &AppState) {
    for session_id in state.sessions.take_expired(state.clock.now_ms()) {
        state.publisher.publish(ChatEvent::SessionEnded { session_id }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_in_order_and_closed_ones_are_forgotten() {
        let watch = SessionWatch::default();
        watch.opened(1, 100);
        watch.opened(1, 100);
        watch.opened(2, 50);
        watch.opened(3, 70);
        watch.closed(3);
        assert_eq!(watch.take_expired(49), Vec::<i64>::new());
        assert_eq!(watch.take_expired(100), [2, 1]);
        assert!(watch.take_expired(1_000).is_empty());
    }
}
