//! Who is online: a user is online while any of their sockets is connected.
//!
//! Counted per instance for now; statuses (away, busy, invisible), custom messages and
//! cross-instance presence build on this registry.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::room::Presence;
use crate::domain::user::UserId;

#[derive(Debug, Default)]
pub struct PresenceRegistry {
    sockets: Mutex<HashMap<UserId, usize>>,
}

impl PresenceRegistry {
    pub fn connected(&self, user_id: UserId) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        *sockets.entry(user_id).or_default() += 1;
    }

    pub fn disconnected(&self, user_id: UserId) {
        let mut sockets = self.sockets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = sockets.get_mut(&user_id) {
            *count -= 1;
            if *count == 0 {
                sockets.remove(&user_id);
            }
        }
    }

    pub fn presence(&self, user_id: UserId) -> Presence {
        let online = self.sockets.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&user_id);
        Presence {
            status: if online { "online" } else { "offline" }.to_owned(),
            custom_message: None,
            last_active_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_while_any_socket_is_connected() {
        let registry = PresenceRegistry::default();
        assert_eq!(registry.presence(1).status, "offline");
        registry.connected(1);
        registry.connected(1);
        registry.disconnected(1);
        assert_eq!(registry.presence(1).status, "online");
        registry.disconnected(1);
        assert_eq!(registry.presence(1).status, "offline");
    }
}
