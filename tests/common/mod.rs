//! Test harness: the real server (same `run` as the binary) on 127.0.0.1:0 with a fresh
//! data directory, driven over real HTTP.

#![allow(dead_code)]

pub mod sio;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventsync_chat::clock::{Clock, ManualClock, SharedClock, SystemClock};
use eventsync_chat::config::{Limits, ServeArgs, StorageArgs};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    /// A client without a cookie jar: tests pass tokens explicitly.
    pub http: Client,
    data_dir: DataDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Either a temporary directory owned by this server or one shared across restarts.
enum DataDir {
    Owned(tempfile::TempDir),
    Borrowed(PathBuf),
}

impl DataDir {
    fn path(&self) -> &Path {
        match self {
            DataDir::Owned(dir) => dir.path(),
            DataDir::Borrowed(path) => path,
        }
    }
}

/// How a test wants its server.
pub struct Options {
    pub limits: Limits,
    pub clock: SharedClock,
}

impl Default for Options {
    fn default() -> Self {
        Options { limits: Limits::default(), clock: Arc::new(SystemClock) }
    }
}

impl Options {
    pub fn with_clock(clock: ManualClock) -> Self {
        Options { clock: Arc::new(clock), ..Options::default() }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self::launch(DataDir::Owned(dir), options).await
    }

    /// A server on an existing data directory (restart tests).
    pub async fn start_in(data_dir: &Path) -> TestServer {
        Self::launch(DataDir::Borrowed(data_dir.to_owned()), Options::default()).await
    }

    /// A server on an existing data directory, with options.
    pub async fn start_in_with(data_dir: &Path, options: Options) -> TestServer {
        Self::launch(DataDir::Borrowed(data_dir.to_owned()), options).await
    }

    async fn launch(data_dir: DataDir, options: Options) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = ServeArgs::embedded(data_dir.path(), addr);
        config.storage = storage_for(data_dir.path()).await;
        config.limits = options.limits;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.await;
            };
            eventsync_chat::run(config, options.clock, listener, shutdown).await.expect("server run");
        });
        let server = TestServer {
            addr,
            base: format!("http://{addr}"),
            http: Client::new(),
            data_dir,
            stop: Some(stop_tx),
            task: Some(task),
        };
        server.wait_until_healthy().await;
        server
    }

    async fn wait_until_healthy(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("server did not become healthy");
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server gracefully and waits until it has released the database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Registers `username` and returns (token, user).
    pub async fn register(&self, username: &str) -> (String, Value) {
        let response =
            self.post("/api/auth/register", None, json!({"username": username, "password": PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {username}");
        let body: Value = response.json().await.expect("json");
        (body["token"].as_str().expect("token").to_owned(), body["user"].clone())
    }
}

impl TestServer {
    /// Creates an admin directly in the store (as `eventsync-chat user create --admin`
    /// does) and logs them in; returns (token, user).
    pub async fn create_admin(&self, username: &str) -> (String, Value) {
        use eventsync_chat::auth::accounts::{RegisterRequest, create_user};
        use eventsync_chat::auth::password::PasswordHasher;
        use eventsync_chat::domain::user::Role;
        let storage = storage_for(self.data_dir()).await;
        let store = eventsync_chat::store::Store::open(&storage, 1).await.expect("open store");
        let request =
            RegisterRequest { username: username.into(), password: PASSWORD.into(), display_name: None };
        create_user(&store, &PasswordHasher::new(1), &SystemClock, request, Role::Admin)
            .await
            .expect("admin");
        store.close().await;
        let response =
            self.post("/api/auth/login", None, json!({"username": username, "password": PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        (body["token"].as_str().expect("token").to_owned(), body["user"].clone())
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.http.put(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.http.patch(self.url(path)).bearer_auth(token).json(&body).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str, body: Option<Value>) -> Response {
        let mut request = self.http.delete(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// Creates a room and returns its JSON (asserting 201).
    pub async fn create_room(&self, token: &str, body: Value) -> Value {
        let response = self.post("/api/chat/rooms", Some(token), body.clone()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create room {body}");
        response.json().await.expect("json")
    }

    /// Sends a text message and returns it (asserting 201).
    pub async fn send(&self, token: &str, room_id: &Value, content: &str) -> Value {
        let response = self
            .post(&format!("/api/chat/rooms/{room_id}/messages"), Some(token), json!({"content": content}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "send {content:?}");
        response.json().await.expect("json")
    }

    /// The room's history as the given user (asserting 200).
    pub async fn history(&self, token: &str, room_id: &Value, query: &str) -> Value {
        let response = self.get(&format!("/api/chat/rooms/{room_id}/messages{query}"), Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "history {query}");
        response.json().await.expect("json")
    }
}

/// Contents of a history page's messages, skipping system messages.
pub fn contents(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["type"] != "system")
        .map(|m| m["content"].as_str().unwrap_or("<deleted>").to_owned())
        .collect()
}

/// Asserts a set-up step succeeded (2xx) and returns its JSON body (null when empty).
pub async fn expect_ok(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "set-up step failed: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts the SPEC §9 error shape, status and code; returns the message.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status, "status for expected code {code}");
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "error content type");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "error body {body}");
    let message = body["error"]["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

pub fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// Set to a PostgreSQL URL (e.g. `postgres://127.0.0.1:5432/test`) to run every
/// integration test against PostgreSQL instead of SQLite.
pub const POSTGRES_ENV: &str = "EVENTSYNC_TEST_POSTGRES_URL";

/// Test databases older than this are dropped by later runs.
const STALE_DATABASE_MS: i64 = 3600 * 1000;

/// The backend the tests run on: `sqlite` or `postgres`.
pub fn backend_under_test() -> &'static str {
    if std::env::var(POSTGRES_ENV).is_ok() { "postgres" } else { "sqlite" }
}

/// Storage for a data directory: SQLite inside it, or (under [`POSTGRES_ENV`]) a
/// PostgreSQL database of its own, whose name is kept in the directory so that a
/// restarted server finds the same data.
pub async fn storage_for(data_dir: &Path) -> StorageArgs {
    let mut storage = StorageArgs::embedded(data_dir);
    let Ok(base_url) = std::env::var(POSTGRES_ENV) else {
        return storage;
    };
    let marker = data_dir.join("postgres-test-database");
    let name = match std::fs::read_to_string(&marker) {
        Ok(name) => name,
        Err(_) => {
            let name = format!("es_test_{}_{}", now_ms(), rand_suffix());
            let mut admin = sqlx::PgConnection::connect(&base_url).await.expect("connect to test PostgreSQL");
            drop_stale_databases(&mut admin).await;
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create test database");
            admin.close().await.ok();
            std::fs::write(&marker, &name).expect("write marker");
            name
        }
    };
    let (server, _) = base_url.rsplit_once('/').expect("URL with a database path");
    storage.database_url = Some(format!("{server}/{name}"));
    storage
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{:x}", hasher.finish())
}

async fn drop_stale_databases(admin: &mut sqlx::PgConnection) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'es_test_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let cutoff = now_ms() - STALE_DATABASE_MS;
    for (name,) in names {
        let created: i64 = name.split('_').nth(2).and_then(|ms| ms.parse().ok()).unwrap_or(i64::MAX);
        if created < cutoff {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .await;
        }
    }
}

/// This process's memory from `/proc/self/status`, in KiB: `VmRSS:` now, `VmHWM:` the
/// peak. Integration tests run the server in-process, so this is the server's memory.
pub fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory field")
}
