//! Data survives a restart, and the admin command writes to the same store.

mod common;

use common::{PASSWORD, TestServer, storage_for};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path()).await;
    let (token, _) = server.register("wendy").await;
    let event: Value = server
        .post("/api/events", Some(&token), json!({"title": "Persisted", "starts_at": "2026-12-01T10:00:00Z"}))
        .await
        .json()
        .await
        .unwrap();
    server.stop().await;

    let server = TestServer::start_in(dir.path()).await;
    // The session token is still valid, and so are the account and the event.
    let me: Value = server.get("/api/auth/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["username"], "wendy");
    let again: Value =
        server.get(&format!("/api/events/{}", event["id"]), Some(&token)).await.json().await.unwrap();
    assert_eq!(again["title"], "Persisted");
    let response =
        server.post("/api/auth/login", None, json!({"username": "wendy", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn user_create_command_makes_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_for(dir.path()).await;
    let user_create = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_eventsync-chat"));
        command.args(["user", "create", "--password", PASSWORD, "--data-dir"]).arg(dir.path()).args(args);
        if let Some(url) = &storage.database_url {
            command.args(["--database-url", url]);
        }
        command.output().unwrap()
    };
    let output = user_create(&["--username", "Xavier", "--admin"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["role"], "admin");

    // A second account with the same name in another case is refused, with a clear message.
    let output = user_create(&["--username", "xavier"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("username_taken"));

    let server = TestServer::start_in(dir.path()).await;
    let response =
        server.post("/api/auth/login", None, json!({"username": "xavier", "password": PASSWORD})).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    server.stop().await;
}
