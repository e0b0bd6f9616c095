//! Test harness: the real server (same `run` as the binary) on 127.0.0.1:0 with a fresh
//! data directory, driven over real HTTP.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventsync_chat::clock::{Clock, ManualClock, SharedClock, SystemClock};
use eventsync_chat::config::{Limits, ServeArgs};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
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

    async fn launch(data_dir: DataDir, options: Options) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let mut config = ServeArgs::embedded(data_dir.path(), addr);
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
