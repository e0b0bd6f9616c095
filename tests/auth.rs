//! Accounts over HTTP: register, login, logout, me, cookies, CSRF and login rate limits.

mod common;

use std::time::Duration;

use common::{Options, PASSWORD, TestServer, assert_error, now_ms};
use eventsync_chat::clock::ManualClock;
use eventsync_chat::config::Limits;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn register_login_me_logout_round_trip() {
    let server = TestServer::start().await;
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({"username": "Alice", "password": PASSWORD, "display_name": " Alice A. "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("eventsync_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "Alice");
    assert_eq!(body["user"]["display_name"], "Alice A.");
    assert_eq!(body["user"]["role"], "user");
    assert!(body["user"].get("password_hash").is_none() && !body.to_string().contains("argon2"));

    // Login ignores username case and gives a second, independent session.
    let response =
        server.post("/api/auth/login", None, json!({"username": "alice", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = response.json().await.unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    assert_ne!(token, body["token"].as_str().unwrap());
    assert_eq!(login["user"]["id"], body["user"]["id"]);

    let me: Value = server.get("/api/auth/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["username"], "Alice");

    let response = server.post("/api/auth/logout", Some(&token), json!({})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The revoked token no longer works; the other session still does.
    assert_error(server.get("/api/auth/me", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;
    let other = body["token"].as_str().unwrap();
    assert_eq!(server.get("/api/auth/me", Some(other)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn session_cookie_authenticates_same_origin_requests() {
    let server = TestServer::start().await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let response = browser
        .post(server.url("/api/auth/register"))
        .json(&json!({"username": "carol", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let me: Value = browser.get(server.url("/api/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "carol");
    // A same-origin state-changing request with the cookie is accepted.
    let response = browser
        .post(server.url("/api/events"))
        .header("origin", server.base.clone())
        .json(&json!({"title": "Meetup", "starts_at": "2026-12-01T18:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Logging out clears the cookie: the browser is signed out.
    let response = browser
        .post(server.url("/api/auth/logout"))
        .header("origin", server.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = browser.get(server.url("/api/auth/me")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn cross_origin_cookie_posts_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    browser
        .post(server.url("/api/auth/register"))
        .json(&json!({"username": "dave", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let forged = browser
        .post(server.url("/api/events"))
        .header("origin", "https://evil.example.com")
        .json(&json!({"title": "Forged", "starts_at": "2026-12-01T18:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_error(forged, StatusCode::FORBIDDEN, "cross_origin_refused").await;
    let forged_logout = browser
        .post(server.url("/api/auth/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_error(forged_logout, StatusCode::FORBIDDEN, "cross_origin_refused").await;
    // A foreign Referer without Origin is no better.
    let forged = browser
        .post(server.url("/api/events"))
        .header("referer", "http://evil.example/page")
        .json(&json!({"title": "Forged", "starts_at": "2026-12-01T18:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_error(forged, StatusCode::FORBIDDEN, "cross_origin_refused").await;
    // Nothing was created, and the session survived the forged logout.
    let list: Value = browser.get(server.url("/api/events")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["events"], json!([]));
}

#[tokio::test]
async fn usernames_are_unique_ignoring_case() {
    let server = TestServer::start().await;
    server.register("Erin").await;
    let response =
        server.post("/api/auth/register", None, json!({"username": "eRIN", "password": PASSWORD})).await;
    let message = assert_error(response, StatusCode::CONFLICT, "username_taken").await;
    assert!(message.contains("eRIN"), "{message}");
}

#[tokio::test]
async fn bad_registrations_are_refused_with_reasons() {
    let server = TestServer::start().await;
    for (body, code) in [
        (json!({"username": "has space", "password": PASSWORD}), "invalid_username"),
        (json!({"username": "<script>", "password": PASSWORD}), "invalid_username"),
        (json!({"username": "ab", "password": PASSWORD}), "invalid_username"),
        (json!({"username": "x".repeat(33), "password": PASSWORD}), "invalid_username"),
        (json!({"username": "frank", "password": "short"}), "weak_password"),
        (json!({"username": "frank", "password": PASSWORD, "display_name": "d".repeat(65)}), "invalid_field"),
    ] {
        let response = server.post("/api/auth/register", None, body.clone()).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    // None of the refused attempts created an account.
    let response =
        server.post("/api/auth/login", None, json!({"username": "frank", "password": PASSWORD})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let server = TestServer::start().await;
    server.register("grace").await;
    let wrong = server
        .post("/api/auth/login", None, json!({"username": "grace", "password": "wrong password"}))
        .await;
    let wrong_message = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown =
        server.post("/api/auth/login", None, json!({"username": "nobody", "password": PASSWORD})).await;
    let unknown_message = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong_message, unknown_message);
}

#[tokio::test]
async fn missing_and_bogus_tokens_are_401() {
    let server = TestServer::start().await;
    assert_error(server.get("/api/auth/me", None).await, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_error(
        server.get("/api/auth/me", Some("not-a-token")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(server.get("/api/events", None).await, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = server.post("/api/auth/logout", None, json!({})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let clock = ManualClock::starting_at(now_ms());
    let mut options = Options::with_clock(clock.clone());
    options.limits.session_ttl_seconds = 3600;
    let server = TestServer::start_with(options).await;
    let (token, _) = server.register("heidi").await;
    clock.advance(Duration::from_secs(3599));
    assert_eq!(server.get("/api/auth/me", Some(&token)).await.status(), StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    assert_error(server.get("/api/auth/me", Some(&token)).await, StatusCode::UNAUTHORIZED, "unauthenticated")
        .await;
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_username() {
    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    server.register("ivan").await;
    let per_username = Limits::default().rate_limit_login_per_username;
    for _ in 0..per_username {
        let response = server
            .post("/api/auth/login", None, json!({"username": "ivan", "password": "guess guess"}))
            .await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Even the right password is refused while limited, in any letter case.
    let response =
        server.post("/api/auth/login", None, json!({"username": "IVAN", "password": PASSWORD})).await;
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    clock.advance(Duration::from_secs(60));
    let response =
        server.post("/api/auth/login", None, json!({"username": "ivan", "password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let mut options = Options::default();
    options.limits.rate_limit_login_per_ip = 3;
    let server = TestServer::start_with(options).await;
    for name in ["judy1", "judy2", "judy3"] {
        let response =
            server.post("/api/auth/login", None, json!({"username": name, "password": PASSWORD})).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response =
        server.post("/api/auth/login", None, json!({"username": "judy4", "password": PASSWORD})).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn rate_limits_off_allows_unlimited_logins() {
    let mut options = Options::default();
    options.limits.rate_limit_login_per_ip = 1;
    options.limits.rate_limits = eventsync_chat::config::Switch::Off;
    let server = TestServer::start_with(options).await;
    server.register("kim").await;
    for _ in 0..5 {
        let response =
            server.post("/api/auth/login", None, json!({"username": "kim", "password": PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Someone guessing a password from one address cannot lock the owner out: failures
/// count against the username only for addresses that have been failing.
#[tokio::test]
async fn guessing_from_one_address_does_not_lock_the_owner_out() {
    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    server.register("olive").await;
    let login = |from: [u8; 4], password: &'static str| {
        let client = reqwest::Client::builder().local_address(std::net::IpAddr::from(from)).build().unwrap();
        let url = server.url("/api/auth/login");
        async move {
            client.post(url).json(&json!({"username": "olive", "password": password})).send().await.unwrap()
        }
    };
    for _ in 0..Limits::default().rate_limit_login_per_username {
        assert_error(
            login([127, 0, 0, 1], "guess guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    // The guesser is now refused, even with the right password.
    assert_error(login([127, 0, 0, 1], PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The owner, from an address that has not been failing, gets in.
    assert_eq!(login([127, 0, 0, 2], PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let mut options = Options::default();
    options.limits.rate_limit_register_per_ip = 3;
    let server = TestServer::start_with(options).await;
    for name in ["reg1", "reg2", "reg3"] {
        server.register(name).await;
    }
    let response =
        server.post("/api/auth/register", None, json!({"username": "reg4", "password": PASSWORD})).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Nothing was created: the name is still free once the limit has passed.
    let response =
        server.post("/api/auth/login", None, json!({"username": "reg4", "password": PASSWORD})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
