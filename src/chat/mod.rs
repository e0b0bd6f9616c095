//! The chat service layer: where the product's rules live.
//!
//! REST handlers and Socket.IO handlers both call these functions (authorize → validate →
//! persist → publish), so a change made either way behaves and broadcasts the same.
//! Nothing here knows about HTTP or Socket.IO.

pub mod access;
pub mod calendar;
pub mod messages;
pub mod moderation;
pub mod notifications;
pub mod presence;
pub mod publish;
pub mod rooms;
