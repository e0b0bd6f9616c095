//! What other instances tell this one ([`Replica`]), applied to the state this instance
//! keeps in memory: presence, typing, room counts. Their broadcasts need nothing here;
//! the publisher delivers those to this instance's sockets as they are.

use super::publish::{ChatEvent, Replica};
use super::{presence, typing};
use crate::state::{AppState, InstanceId};

/// Applies what instance `from` told.
pub async fn apply(state: &AppState, from: InstanceId, replica: Replica) {
    presence::alive(state, from).await;
    match replica {
        Replica::Presence(shared) => presence::merge(state, from, shared).await,
        Replica::Alive => {}
        Replica::Typing { room_id, user, typing } => typing::remote(state, room_id, user, typing),
        Replica::Members { room_id, delta } => state.room_counts.adjust(room_id, delta),
    }
}

/// Says this instance is alive; the server's timer calls it every few seconds.
pub async fn heartbeat(state: &AppState) {
    state.publisher.publish(ChatEvent::Replica(Replica::Alive)).await;
}

/// The other instances may have missed what this one told them (the link between
/// them was lost): they hear it again.
pub async fn retell(state: &AppState) {
    presence::share_all(state).await;
}
