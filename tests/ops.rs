//! Health, metrics, the OpenAPI document and Swagger UI.

mod common;

use common::{TestServer, backend_under_test};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn healthz_reports_database() {
    let server = TestServer::start().await;
    let response = server.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], backend_under_test());
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = TestServer::start().await;
    let (token, _) = server.register("victor").await;
    server.get("/api/events/12345", Some(&token)).await;
    let text = server.get("/metrics", None).await.text().await.unwrap();
    assert!(text.contains("eventsync_http_requests_total"), "{text}");
    assert!(
        text.lines().any(|l| l.contains("route=\"/api/events/{id}\"") && l.contains("status=\"404\"")),
        "{text}"
    );
    assert!(!text.contains("/api/events/12345"), "raw paths must not become labels");
    assert!(text.contains("eventsync_socketio_connections"));
}

#[tokio::test]
async fn openapi_documents_every_route_and_the_error_shape() {
    let server = TestServer::start().await;
    let doc: Value = server.get("/api/openapi.json", None).await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/auth/me", "get"),
        ("/api/events", "post"),
        ("/api/events", "get"),
        ("/api/events/{id}", "get"),
        ("/api/events/{id}/register", "post"),
        ("/api/chat/rooms", "get"),
        ("/api/chat/rooms", "post"),
        ("/api/chat/rooms/public", "get"),
        ("/api/chat/rooms/{id}", "get"),
        ("/api/chat/rooms/{id}", "patch"),
        ("/api/chat/rooms/{id}/join", "post"),
        ("/api/chat/rooms/{id}/leave", "post"),
        ("/api/chat/rooms/{id}/participants", "get"),
        ("/api/chat/rooms/{id}/participants", "post"),
        ("/api/chat/rooms/{id}/participants/{user_id}", "delete"),
        ("/api/chat/rooms/{id}/read", "post"),
        ("/api/chat/rooms/{id}/preferences", "put"),
        ("/api/chat/rooms/{id}/messages", "get"),
        ("/api/chat/rooms/{id}/messages", "post"),
        ("/api/chat/messages/{id}/replies", "get"),
        ("/api/chat/messages/{id}/edit", "put"),
        ("/api/chat/messages/{id}/delete", "delete"),
        ("/api/chat/messages/{id}/react", "post"),
        ("/api/chat/messages/{id}/react", "delete"),
        ("/api/chat/messages/{id}/vote", "post"),
        ("/api/chat/events/{id}/rooms", "get"),
        ("/api/chat/notifications", "get"),
        ("/api/chat/notifications/read", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from OpenAPI"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let ui = server.get("/api/docs/", None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"), "Swagger UI page");
}
