//! Malformed requests of every kind answer in the SPEC §9 error format.

mod common;

use common::{PASSWORD, TestServer, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_json_is_400() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(server.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{\"username\": \"x\",")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let server = TestServer::start().await;
    let response = server
        .http
        .post(server.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("username=a&password=b")
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;
}

#[tokio::test]
async fn missing_fields_and_wrong_types_are_422() {
    let server = TestServer::start().await;
    let response = server.post("/api/auth/register", None, serde_json::json!({"username": "tina"})).await;
    let message = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(message.contains("password"), "{message}");
    let response =
        server.post("/api/auth/login", None, serde_json::json!({"username": 7, "password": []})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let response = server.post("/api/auth/login", None, serde_json::json!([1, 2])).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
}

#[tokio::test]
async fn oversize_body_is_413_and_creates_nothing() {
    let server = TestServer::start().await;
    let body = serde_json::json!({"username": "ursula", "password": "p".repeat(100 * 1024)});
    let response = server.post("/api/auth/register", None, body).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let response = server
        .post("/api/auth/login", None, serde_json::json!({"username": "ursula", "password": "whatever"}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let server = TestServer::start().await;
    assert_error(server.get("/api/nope", None).await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(server.get("/api/auth/nope/deeper", None).await, StatusCode::NOT_FOUND, "not_found").await;
    let response = server.http.delete(server.url("/api/auth/login")).send().await.unwrap();
    assert_error(response, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

/// NUL breaks PostgreSQL text and control characters have no place in names: refused
/// with the field's own code on both backends, and nothing is stored.
#[tokio::test]
async fn nul_and_control_characters_are_refused() {
    let server = TestServer::start().await;
    let (token, _) = server.register("nora").await;
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({"username": "nul_user", "password": PASSWORD, "display_name": "a\u{0}b"}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    for name in ["nul\u{0}room", "bell\u{7}", "esc\u{1b}[31m"] {
        let response =
            server.post("/api/chat/rooms", Some(&token), json!({"type": "general", "name": name})).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    }
    let response = server
        .post("/api/events", Some(&token), json!({"title": "x\u{0}", "starts_at": "2026-12-01T18:00:00Z"}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    let room = server.create_room(&token, json!({"type": "general", "name": "Lobby\nsecond line"})).await;
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    for body in [json!({"content": "a\u{0}b"}), json!({"content": "ok", "client_id": "c\u{0}"})] {
        let code = if body.get("client_id").is_some() { "invalid_client_id" } else { "invalid_content" };
        assert_error(server.post(&path, Some(&token), body).await, StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    }
    let response = server
        .patch(&format!("/api/chat/rooms/{}", room["id"]), &token, json!({"description": "d\u{0}"}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    // Nothing half-written: no message, and the room kept its settings.
    let history = server.history(&token, &room["id"], "").await;
    assert!(history["messages"].as_array().unwrap().iter().all(|m| m["type"] == "system"), "{history}");
    let rooms: Value = server.get("/api/chat/rooms", Some(&token)).await.json().await.unwrap();
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 1);
    assert_eq!(rooms["rooms"][0]["description"], "");
}

/// Valid JSON of the wrong shape is 422 `invalid_body`; arrays are not read by position.
#[tokio::test]
async fn json_of_the_wrong_shape_is_422() {
    let server = TestServer::start().await;
    let (token, _) = server.register("wanda").await;
    let room = server.create_room(&token, json!({"type": "general", "name": "Lobby"})).await;
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    for body in
        [json!({"content": "hi", "type": -58800}), json!(["hi", null, null, null, null]), json!([null, null])]
    {
        let response = server.post(&path, Some(&token), body.clone()).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    }
    let response = server.post("/api/auth/login", None, json!(["wanda", PASSWORD])).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let history = server.history(&token, &room["id"], "").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 0, "{history}");
}
