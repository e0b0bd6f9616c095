//! Malformed requests of every kind answer in the SPEC §9 error format.

mod common;

use common::{TestServer, assert_error};
use reqwest::StatusCode;

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
