//! Health, metrics, the OpenAPI document and Swagger UI.

mod common;

use common::{Options, TestServer, backend_under_test};
use eventsync_chat::config::Limits;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn healthz_reports_database() {
    let server = TestServer::start().await;
    let response = server.get("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["backend"], backend_under_test());
    assert!(body.get("redis").is_none(), "no Redis is configured: {body}");
}

/// The value of the request counter for one route template and status, 0 if absent.
async fn requests_counted(server: &TestServer, route: &str, status: u16) -> f64 {
    let text = server.get("/metrics", None).await.text().await.unwrap();
    assert!(!text.contains("/api/events/12345"), "raw paths must not become labels");
    text.lines()
        .filter(|l| l.starts_with("eventsync_http_requests_total"))
        .filter(|l| l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = TestServer::start().await;
    let (token, _) = server.register("victor").await;
    assert_eq!(server.get("/api/events/12345", Some(&token)).await.status(), StatusCode::NOT_FOUND);
    let before = requests_counted(&server, "/api/events/{id}", 404).await;
    assert_eq!(before, 1.0);
    for _ in 0..3 {
        assert_eq!(server.get("/api/events/12345", Some(&token)).await.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(requests_counted(&server, "/api/events/{id}", 404).await, before + 3.0);
    let text = server.get("/metrics", None).await.text().await.unwrap();
    assert!(text.contains("eventsync_socketio_connections"));
}

/// Every route the server serves, by method; the OpenAPI document must list exactly
/// these, and the server must answer each of them.
const ROUTES: &[(&str, &str)] = &[
    ("/api/auth/register", "post"),
    ("/api/auth/login", "post"),
    ("/api/auth/logout", "post"),
    ("/api/auth/me", "get"),
    ("/api/auth/password", "post"),
    ("/api/admin/users/{id}/disable", "post"),
    ("/api/admin/users/{id}/enable", "post"),
    ("/api/events", "post"),
    ("/api/events", "get"),
    ("/api/events/{id}", "get"),
    ("/api/events/{id}/register", "post"),
    ("/api/events/{id}/ban", "post"),
    ("/api/events/{id}/unban", "post"),
    ("/api/events/{id}/announcements", "post"),
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
    ("/api/chat/rooms/{id}/preferences", "get"),
    ("/api/chat/rooms/{id}/preferences", "put"),
    ("/api/chat/rooms/{id}/messages", "get"),
    ("/api/chat/rooms/{id}/messages", "post"),
    ("/api/chat/rooms/{id}/moderation-log", "get"),
    ("/api/chat/rooms/{id}/mute", "post"),
    ("/api/chat/rooms/{id}/unmute", "post"),
    ("/api/chat/rooms/{id}/kick", "post"),
    ("/api/chat/rooms/{id}/ban", "post"),
    ("/api/chat/rooms/{id}/unban", "post"),
    ("/api/chat/rooms/{id}/bans", "get"),
    ("/api/chat/rooms/{id}/moderators", "get"),
    ("/api/chat/rooms/{id}/moderators/{user_id}", "put"),
    ("/api/chat/rooms/{id}/moderators/{user_id}", "delete"),
    ("/api/chat/rooms/{id}/upload", "post"),
    ("/api/chat/rooms/{id}/pins", "get"),
    ("/api/chat/rooms/{id}/export", "get"),
    ("/api/chat/rooms/{id}/questions", "get"),
    ("/api/chat/rooms/{id}/questions", "post"),
    ("/api/chat/rooms/{id}/questions/{qid}/vote", "post"),
    ("/api/chat/rooms/{id}/questions/{qid}/approve", "post"),
    ("/api/chat/rooms/{id}/questions/{qid}/answer", "post"),
    ("/api/chat/rooms/{id}/questions/{qid}/pin", "post"),
    ("/api/chat/rooms/{id}/questions/{qid}/hide", "post"),
    ("/api/chat/messages/{id}/pin", "post"),
    ("/api/chat/messages/{id}/pin", "delete"),
    ("/api/chat/files/{id}/download", "get"),
    ("/api/chat/files/{id}/thumbnail", "get"),
    ("/api/chat/files/{id}/downloads", "get"),
    ("/api/chat/messages/{id}/replies", "get"),
    ("/api/chat/messages/{id}/edit", "put"),
    ("/api/chat/messages/{id}/history", "get"),
    ("/api/chat/messages/{id}/delete", "delete"),
    ("/api/chat/messages/{id}/react", "post"),
    ("/api/chat/messages/{id}/react", "delete"),
    ("/api/chat/messages/{id}/vote", "post"),
    ("/api/chat/events/{id}/rooms", "get"),
    ("/api/chat/notifications", "get"),
    ("/api/chat/notifications/read", "post"),
    ("/api/chat/notifications/{id}/read", "post"),
    ("/api/chat/notifications/unread-count", "get"),
    ("/api/chat/presence", "put"),
    ("/api/chat/presence", "get"),
    ("/healthz", "get"),
    ("/metrics", "get"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn openapi_documents_exactly_the_routes_served() {
    let server = TestServer::start().await;
    let (token, _) = server.register("olga").await;
    let doc: Value = server.get("/api/openapi.json", None).await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            let ops = ops.as_object().unwrap();
            METHODS.iter().filter(|m| ops.contains_key(**m)).map(move |m| (path.clone(), m.to_string()))
        })
        .collect();
    let mut expected: Vec<(String, String)> =
        ROUTES.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected, "the document and the route table differ");

    let client = reqwest::Client::new();
    for (path, _) in ROUTES {
        let url = server
            .url(&path.replace("{id}", "999999").replace("{user_id}", "999999").replace("{qid}", "999999"));
        for method in METHODS {
            let served = ROUTES.contains(&(path, method));
            let response = client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .bearer_auth(&token)
                .json(&serde_json::json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
                || (status == StatusCode::NOT_FOUND && body["error"]["message"] == "route not found");
            assert_eq!(!unrouted, served, "{method} {path}: {status} {body}");
        }
    }
    // Operation ids are unique, and every schema a document names exists.
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate operationIds");
    let text = doc.to_string();
    for name in text.split("\"#/components/schemas/").skip(1).filter_map(|rest| rest.split('"').next()) {
        assert!(doc["components"]["schemas"][name].is_object(), "missing schema {name}");
    }
    // Every operation documents the errors it can answer before its own rules run.
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty())) {
                assert!(responses.contains_key("401"), "{method} {path} does not document 401");
            }
            if path.contains('{') {
                assert!(
                    responses.contains_key("404") && responses.contains_key("400"),
                    "{method} {path}: 400/404"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} does not document {status}");
                }
            }
        }
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let ui = server.get("/api/docs/", None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"), "Swagger UI page");
}

/// The document states rules as schema: the text patterns (no placeholder left), this
/// server's own upload expiry limit, and links from each creating operation's answer to
/// the operations that use what it made.
#[tokio::test]
async fn openapi_states_rules_and_links_as_schema() {
    let limits = Limits { max_file_expiry_seconds: 3600, ..Limits::default() };
    let server = TestServer::start_with(Options { limits, ..Options::default() }).await;
    let doc: Value = server.get("/api/openapi.json", None).await.json().await.unwrap();
    let text = doc.to_string();
    assert!(!text.contains("\"pattern\":\"text\"") && !text.contains("\"pattern\":\"non_blank_text\""));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["EditMessage"]["properties"]["content"]["pattern"],
        eventsync_chat::domain::NON_BLANK_TEXT_PATTERN
    );
    assert_eq!(schemas["EditMessage"]["properties"]["content"]["maxLength"], 4000);
    assert_eq!(schemas["UploadForm"]["properties"]["expires_in"]["maximum"], 3600);
    assert_eq!(schemas["UploadForm"]["additionalProperties"], false);
    assert_eq!(schemas["RegisterRequest"]["properties"]["username"]["pattern"], "^[A-Za-z0-9_.-]{3,32}$");

    let paths = doc["paths"].as_object().unwrap();
    let operation_ids: Vec<&str> = paths
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    let links = |path: &str| {
        let responses = doc["paths"][path]["post"]["responses"].as_object().unwrap();
        let (_, success) = responses.iter().find(|(status, _)| status.starts_with('2')).unwrap();
        success["links"].as_object().cloned().unwrap_or_default()
    };
    let from_room = links("/api/chat/rooms");
    for target in ["get_room", "send_message", "upload"] {
        let link = from_room.get(target).unwrap_or_else(|| panic!("no link to {target}: {from_room:?}"));
        assert_eq!(link["parameters"]["id"], "$response.body#/id");
    }
    for (path, target) in [
        ("/api/chat/rooms/{id}/messages", "edit_message"),
        ("/api/chat/rooms/{id}/upload", "download"),
        ("/api/chat/rooms/{id}/questions", "vote_question"),
        ("/api/events", "get_event"),
    ] {
        assert!(links(path).contains_key(target), "{path} does not link to {target}");
    }
    for path in ["/api/chat/rooms", "/api/chat/rooms/{id}/messages", "/api/events"] {
        for (name, link) in links(path) {
            assert!(operation_ids.contains(&link["operationId"].as_str().unwrap()), "{path}: {name}");
        }
    }
}
