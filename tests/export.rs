//! The transcript export streams: a 200,000-message room exports with the server's
//! memory flat (the test process is the server, so its peak RSS is the measure).

mod common;

use common::{TestServer, expect_ok, storage_for};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::test]
async fn a_200k_message_room_exports_in_flat_memory() {
    const MESSAGES: usize = 200_000;
    let server = TestServer::start().await;
    let (token, user) = server.register("archivist").await;
    let room = server.create_room(&token, json!({"type": "group", "name": "Archive"})).await;
    let room_id = room["id"].as_i64().unwrap();
    // Seed straight into the store (as `eventsync-bench seed` does).
    let store = eventsync_chat::store::Store::open(&storage_for(server.data_dir()).await, 1).await.unwrap();
    let contents: Vec<String> = (0..MESSAGES).map(|i| format!("archived line {i} of the keynote")).collect();
    let user_id = user["id"].as_i64().unwrap();
    store.bulk_insert_messages(room_id, user_id, &contents, common::now_ms()).await.unwrap();
    store.close().await;
    drop(contents);

    // Reset the peak, then export.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the RSS peak");
    let before = common::rss_kib("VmRSS:");
    let url = server.url(&format!("/api/chat/rooms/{room_id}/export?format=json"));
    let response = server.http.get(url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let (mut bytes, mut seqs) = (0usize, 0usize);
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        carry.extend_from_slice(&chunk);
        seqs += carry.windows(6).filter(|w| w == b"\"seq\":").count();
        // Keep the last 5 bytes: a marker may straddle two chunks.
        let keep = carry.len().saturating_sub(5);
        carry.drain(..keep);
    }
    let peak = common::rss_kib("VmHWM:");
    assert_eq!(seqs, MESSAGES, "every message exported once");
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!("exported {MESSAGES} messages, {} MiB, peak RSS +{grown_mib} MiB", bytes >> 20);
    assert!(bytes > MESSAGES * 100, "{bytes} bytes");
    // The document is tens of MB; what the export may hold at once is a page.
    assert!(grown_mib < 40, "RSS peak grew by {grown_mib} MiB during the export");
    let members =
        expect_ok(server.get(&format!("/api/chat/rooms/{room_id}/participants"), Some(&token)).await).await;
    assert_eq!(members["participant_count"], 1);
    server.stop().await;
}
