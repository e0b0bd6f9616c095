//! Socket.IO event payloads: any JSON, decoded as the input of every client → server
//! event in the operation table, answers an error at worst; a decoded message is then
//! validated as a send would.
#![no_main]

use eventsync_chat::domain::message::SendMessage;
use eventsync_chat::realtime::operations::{InRoom, OPERATIONS, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    for operation in OPERATIONS {
        let _ = (operation.decode)(Some(value.clone()));
    }
    if let Ok(req) = parse::<InRoom<SendMessage>>(Some(value)) {
        let _ = req.body.validate(1_700_000_000_000);
    }
});
