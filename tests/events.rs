//! Events over HTTP: create, list, get, register as attendee.

mod common;

use common::{TestServer, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn organizer_creates_and_attendees_register() {
    let server = TestServer::start().await;
    let (olga, olga_user) = server.register("olga").await;
    let (pete, _) = server.register("pete").await;

    let response = server
        .post(
            "/api/events",
            Some(&olga),
            json!({"title": "  RustFest  ", "starts_at": "2026-12-01T18:00:00+01:00", "ends_at": "2026-12-01T22:00:00Z"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["title"], "RustFest");
    assert_eq!(event["starts_at"], "2026-12-01T17:00:00Z");
    assert_eq!(event["ends_at"], "2026-12-01T22:00:00Z");
    assert_eq!(event["organizer"], olga_user);
    assert_eq!(event["attendee_count"], 0);
    let id = event["id"].as_i64().unwrap();

    let response = server.post(&format!("/api/events/{id}/register"), Some(&pete), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["is_attendee"], true);
    assert_eq!(registered["attendee_count"], 1);
    // Registering twice is harmless.
    let again: Value = server
        .post(&format!("/api/events/{id}/register"), Some(&pete), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["attendee_count"], 1);

    // Each caller sees their own registration.
    let seen_by_olga: Value =
        server.get(&format!("/api/events/{id}"), Some(&olga)).await.json().await.unwrap();
    assert_eq!(seen_by_olga["is_attendee"], false);
    assert_eq!(seen_by_olga["attendee_count"], 1);
}

#[tokio::test]
async fn events_list_in_start_order_with_filters() {
    let server = TestServer::start().await;
    let (token, _) = server.register("quinn").await;
    for (title, starts_at) in [
        ("Late", "2026-12-03T10:00:00Z"),
        ("Early", "2026-12-01T10:00:00Z"),
        ("Middle", "2026-12-02T10:00:00Z"),
    ] {
        let response =
            server.post("/api/events", Some(&token), json!({"title": title, "starts_at": starts_at})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let titles = |body: Value| -> Vec<String> {
        body["events"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap().to_owned()).collect()
    };
    let all: Value = server.get("/api/events", Some(&token)).await.json().await.unwrap();
    assert_eq!(titles(all), ["Early", "Middle", "Late"]);
    let later: Value =
        server.get("/api/events?from=2026-12-02T00:00:00Z&limit=1", Some(&token)).await.json().await.unwrap();
    assert_eq!(titles(later), ["Middle"]);

    assert_error(
        server.get("/api/events?limit=0", Some(&token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
    assert_error(
        server.get("/api/events?limit=101", Some(&token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
    assert_error(
        server.get("/api/events?limit=many", Some(&token)).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_error(
        server.get("/api/events?from=soon", Some(&token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_time",
    )
    .await;
}

#[tokio::test]
async fn unknown_events_are_404() {
    let server = TestServer::start().await;
    let (token, _) = server.register("rita").await;
    assert_error(server.get("/api/events/999", Some(&token)).await, StatusCode::NOT_FOUND, "not_found").await;
    let response = server.post("/api/events/999/register", Some(&token), json!({})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        server.get("/api/events/abc", Some(&token)).await,
        StatusCode::BAD_REQUEST,
        "invalid_path_parameter",
    )
    .await;
}

#[tokio::test]
async fn invalid_events_are_refused_and_not_stored() {
    let server = TestServer::start().await;
    let (token, _) = server.register("sam").await;
    for (body, status, code) in [
        (
            json!({"title": "", "starts_at": "2026-12-01T10:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"title": "t".repeat(201), "starts_at": "2026-12-01T10:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (json!({"title": "x", "starts_at": "December"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_time"),
        (
            json!({"title": "x", "starts_at": "2026-12-02T10:00:00Z", "ends_at": "2026-12-01T10:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_time",
        ),
        (json!({"title": "x"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            json!({"title": 5, "starts_at": "2026-12-01T10:00:00Z"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        assert_error(server.post("/api/events", Some(&token), body).await, status, code).await;
    }
    let list: Value = server.get("/api/events", Some(&token)).await.json().await.unwrap();
    assert_eq!(list["events"], json!([]));
}
