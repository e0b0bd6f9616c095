//! Command line and environment configuration.
//!
//! Every setting is a flag with an `EVENTSYNC_*` environment variable, so the same binary
//! runs from a shell, a unit file or a container without a config file. Limits and
//! timeouts live here as named settings rather than as numbers scattered through handlers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `eventsync-chat`: the command line.
#[derive(Debug, Parser)]
#[command(name = "eventsync-chat", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (REST API and Socket.IO on one port).
    Serve(Box<ServeArgs>),
    /// Manage user accounts from the command line.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints it as JSON.
    Create(UserCreateArgs),
}

#[derive(Args)]
pub struct UserCreateArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Username: 3–32 characters of A–Z, a–z, 0–9, `_`, `.` and `-`.
    #[arg(long)]
    pub username: String,
    /// Password; read from standard input when omitted.
    #[arg(long, env = "EVENTSYNC_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Display name (defaults to the username).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Make the account an admin (support staff who may moderate any room).
    #[arg(long)]
    pub admin: bool,
}

impl std::fmt::Debug for UserCreateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCreateArgs")
            .field("storage", &self.storage)
            .field("username", &self.username)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Where data lives: shared by `serve` and the admin commands.
#[derive(Clone, Args)]
pub struct StorageArgs {
    /// Directory for the embedded database and uploaded files.
    #[arg(long, env = "EVENTSYNC_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: SQLite file in the data directory.
    #[arg(long, env = "EVENTSYNC_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of uploaded files (default: `files` in the data directory); instances
    /// that scale out share one.
    #[arg(long, env = "EVENTSYNC_FILES_DIR")]
    pub files_dir: Option<PathBuf>,
}

// A database URL may carry a password: Debug output (logs, panics) never shows it.
impl std::fmt::Debug for StorageArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageArgs")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<redacted>"))
            .field("files_dir", &self.files_dir)
            .finish()
    }
}

impl StorageArgs {
    /// A storage location for tests and tools: SQLite under `data_dir`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        StorageArgs { data_dir: data_dir.into(), database_url: None, files_dir: None }
    }

    /// Where uploaded files live.
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir.clone().unwrap_or_else(|| self.data_dir.join("files"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// An address (`10.0.0.5`) or a range (`10.0.0.0/8`).
fn parse_net(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a CIDR range"))
}

/// Settings of `eventsync-chat serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "EVENTSYNC_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,
    /// Log format on stderr.
    #[arg(long, env = "EVENTSYNC_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Redis (`redis://host:6379/0`) shared by several instances on one PostgreSQL
    /// database: broadcasts, presence and typing then reach every instance.
    #[arg(long, env = "EVENTSYNC_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    #[command(flatten)]
    pub limits: Limits,
}

/// A setting that may hold a password: never printed.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Limits, timeouts and security settings of a running server.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "EVENTSYNC_MAX_JSON_BYTES", default_value_t = 64 * 1024)]
    pub max_json_bytes: usize,
    /// How long a login session lasts, in seconds.
    #[arg(long, env = "EVENTSYNC_SESSION_TTL_SECONDS", default_value_t = 30 * 24 * 3600)]
    pub session_ttl_seconds: u64,
    /// Mark the session cookie `Secure` (serve over HTTPS behind a proxy).
    #[arg(long, env = "EVENTSYNC_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Other origins (e.g. `https://events.example.org`) whose cookie-authenticated
    /// requests are trusted; comma-separated. The server's own origin always is.
    #[arg(long, env = "EVENTSYNC_TRUSTED_ORIGINS", value_delimiter = ',')]
    pub trusted_origins: Vec<String>,
    /// `off` turns every rate limit off (load tests, trusted networks).
    #[arg(long, env = "EVENTSYNC_RATE_LIMITS", value_enum, default_value = "on")]
    pub rate_limits: Switch,
    /// Login attempts allowed per client IP address per minute.
    #[arg(long, env = "EVENTSYNC_RATE_LIMIT_LOGIN_PER_IP", default_value_t = 30)]
    pub rate_limit_login_per_ip: u32,
    /// Login attempts allowed per username per minute.
    #[arg(long, env = "EVENTSYNC_RATE_LIMIT_LOGIN_PER_USERNAME", default_value_t = 10)]
    pub rate_limit_login_per_username: u32,
    /// How long after sending a message its sender may still edit it, in seconds.
    #[arg(long, env = "EVENTSYNC_EDIT_WINDOW_SECONDS", default_value_t = 15 * 60)]
    pub edit_window_seconds: u64,
    /// Password hashes computed at once; further logins wait (bounds CPU under attack).
    #[arg(long, env = "EVENTSYNC_PASSWORD_HASH_CONCURRENCY", default_value_t = 2)]
    pub password_hash_concurrency: usize,
    /// Readers in the SQLite connection pool (there is always exactly one writer).
    #[arg(long, env = "EVENTSYNC_SQLITE_READERS", default_value_t = 4)]
    pub sqlite_readers: u32,
    /// Seconds to wait for in-flight requests on shutdown before closing anyway.
    #[arg(long, env = "EVENTSYNC_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
    /// Seconds a client has to send a request's headers once it starts waiting for them.
    #[arg(long, env = "EVENTSYNC_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Longest pause, in seconds, while a request body is being sent.
    #[arg(long, env = "EVENTSYNC_BODY_READ_TIMEOUT_SECONDS", default_value_t = 30)]
    pub body_read_timeout_seconds: u64,
    /// Bytes per second a request body must average once its first pause-length of time
    /// is spent (0 = no minimum): a client trickling a byte at a time cannot hold a
    /// request open for long.
    #[arg(long, env = "EVENTSYNC_MIN_BODY_BYTES_PER_SECOND", default_value_t = 1024)]
    pub min_body_bytes_per_second: u64,
    /// Seconds a kept-alive HTTP connection may wait for its next request. The server
    /// counts this wait and the reading of the next request's headers as one span, so the
    /// smaller of this and the header timeout applies to both.
    #[arg(long, env = "EVENTSYNC_IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
    pub idle_timeout_seconds: u64,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// `X-Forwarded-For` names the client. Requests from anywhere else are taken to come
    /// from their peer address, whatever they claim; a trusted proxy is exempt from the
    /// per-address connection cap.
    #[arg(long, env = "EVENTSYNC_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Connections one client address may hold open at once (0: no cap). Further ones are
    /// closed at once, so one client cannot take every descriptor.
    #[arg(long, env = "EVENTSYNC_MAX_CONNECTIONS_PER_IP", default_value_t = 1000)]
    pub max_connections_per_ip: u32,
    /// Words refused (or masked, as each room chooses) in every room with moderation on;
    /// comma-separated single words, matched ignoring case, accents and width.
    #[arg(long, env = "EVENTSYNC_BLOCKED_WORDS", value_delimiter = ',')]
    pub blocked_words: Vec<String>,
    /// A file of more such words, one per line (blank lines and lines starting with `#`
    /// are skipped), read at start-up and added to `--blocked-words`.
    #[arg(long, env = "EVENTSYNC_BLOCKED_WORDS_FILE")]
    pub blocked_words_file: Option<std::path::PathBuf>,
    /// Messages one user may post per room per flood window in rooms with moderation on.
    #[arg(long, env = "EVENTSYNC_RATE_LIMIT_FLOOD_MESSAGES", default_value_t = 5)]
    pub rate_limit_flood_messages: u32,
    /// The flood window, in seconds.
    #[arg(long, env = "EVENTSYNC_RATE_LIMIT_FLOOD_WINDOW_SECONDS", default_value_t = 10)]
    pub rate_limit_flood_window_seconds: u64,
    /// Accounts that may be registered per client IP address per minute.
    #[arg(long, env = "EVENTSYNC_RATE_LIMIT_REGISTER_PER_IP", default_value_t = 20)]
    pub rate_limit_register_per_ip: u32,
    /// Seconds a user stays online after their last socket closes, so a page reload does
    /// not flicker them offline and online to everyone.
    #[arg(long, env = "EVENTSYNC_PRESENCE_GRACE_SECONDS", default_value_t = 5)]
    pub presence_grace_seconds: u64,
    /// Seconds without any event from a user after which an `online` user shows `away`.
    #[arg(long, env = "EVENTSYNC_AWAY_AFTER_SECONDS", default_value_t = 300)]
    pub away_after_seconds: u64,
    /// Seconds a typing indicator lasts without a renewal.
    #[arg(long, env = "EVENTSYNC_TYPING_TIMEOUT_SECONDS", default_value_t = 6)]
    pub typing_timeout_seconds: u64,
    /// Least seconds between two typing broadcasts of one user in one room.
    #[arg(long, env = "EVENTSYNC_TYPING_THROTTLE_SECONDS", default_value_t = 2)]
    pub typing_throttle_seconds: u64,
    /// Bytes of Socket.IO events one socket may have waiting to be processed; beyond it
    /// (or beyond 1024 events) new ones are refused with `rate_limited`.
    #[arg(long, env = "EVENTSYNC_SOCKET_QUEUE_BYTES", default_value_t = 1024 * 1024)]
    pub socket_queue_bytes: usize,
    /// Largest uploaded file, in bytes (50 MiB).
    #[arg(long, env = "EVENTSYNC_MAX_UPLOAD_BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Longest `expires_in` an upload may ask for, in seconds (30 days).
    #[arg(long, env = "EVENTSYNC_MAX_FILE_EXPIRY_SECONDS", default_value_t = 30 * 24 * 3600)]
    pub max_file_expiry_seconds: u64,
    /// Largest image (width × height) decoded for a thumbnail; larger ones are refused.
    #[arg(long, env = "EVENTSYNC_MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,
    /// After a clean restart, how long the users connected at the stop still show online
    /// (as they chose) while they come back, in seconds; an older snapshot is ignored.
    #[arg(long, env = "EVENTSYNC_RESTART_GRACE_SECONDS", default_value_t = 60)]
    pub restart_grace_seconds: u64,
    /// Socket arrivals (handshake, or opening a room) served at once; the rest wait their
    /// turn in order (a reconnect storm runs at the database's pace, none wasted).
    #[arg(long, env = "EVENTSYNC_ARRIVALS_AT_ONCE", default_value_t = 16)]
    pub arrivals_at_once: usize,
    /// Longest wait for an arrival's turn before it is answered `server_busy`, in seconds.
    #[arg(long, env = "EVENTSYNC_ARRIVAL_WAIT_SECONDS", default_value_t = 30)]
    pub arrival_wait_seconds: u64,
    /// Thumbnails made at once (each holds one image in memory).
    #[arg(long, env = "EVENTSYNC_THUMBNAIL_CONCURRENCY", default_value_t = 2)]
    pub thumbnail_concurrency: usize,
    /// Age after which a stored blob that no file record names (an upload cut short by
    /// a crash) is deleted by the sweep at start; longer than any upload takes.
    #[arg(long, env = "EVENTSYNC_ORPHAN_BLOB_AGE_SECONDS", default_value_t = 3600)]
    pub orphan_blob_age_seconds: u64,
    /// Rooms with at least this many participants do not announce who joins or leaves
    /// by themselves (no system message, no `user_joined_chat` to everyone); 0: always announce.
    #[arg(long, env = "EVENTSYNC_QUIET_JOIN_THRESHOLD", default_value_t = 200)]
    pub quiet_join_threshold: u64,
    /// TCP_NODELAY on accepted connections: `on` sends each frame at once, `off` lets
    /// the kernel coalesce small writes (less CPU, later deliveries under some traffic).
    #[arg(long, env = "EVENTSYNC_TCP_NODELAY", value_enum, default_value = "on")]
    pub tcp_nodelay: Switch,
}

impl Limits {
    /// Adds the words of `--blocked-words-file` to the server's list; a file that cannot
    /// be read stops the start.
    pub fn load_blocked_words_file(&mut self) -> Result<(), String> {
        let Some(path) = &self.blocked_words_file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read the blocked words file {}: {err}", path.display()))?;
        self.blocked_words.extend(blocked_words_in(&text));
        Ok(())
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_seconds)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// How long hyper may wait for a request's headers, idle wait included.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.min(self.idle_timeout_seconds).max(1))
    }

    /// The pace every request body is held to.
    pub fn body_pace(&self) -> crate::server::Pace {
        crate::server::Pace {
            pause: Duration::from_secs(self.body_read_timeout_seconds.max(1)),
            min_bytes_per_second: self.min_body_bytes_per_second,
        }
    }

    pub fn rate_limits_on(&self) -> bool {
        self.rate_limits == Switch::On
    }
}

impl Default for Limits {
    fn default() -> Self {
        // One source of defaults: the clap declarations above (and, like every flag, the
        // `EVENTSYNC_*` environment).
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            limits: Limits,
        }
        Defaults::parse_from(["defaults"]).limits
    }
}

impl ServeArgs {
    /// Settings for an embedded server in `data_dir` on `listen`, every limit at its default.
    pub fn embedded(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServeArgs {
            storage: StorageArgs::embedded(data_dir),
            listen,
            log_format: LogFormat::Text,
            redis_url: None,
            limits: Limits::default(),
        }
    }
}

/// The words of a blocked-words file: one per line, skipping blank and `#` lines.
fn blocked_words_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_output_hides_database_password() {
        let storage = StorageArgs {
            data_dir: "./data".into(),
            database_url: Some("postgres://chat:hunter2@db/chat".into()),
            files_dir: None,
        };
        assert!(!format!("{storage:?}").contains("hunter2"));
    }

    #[test]
    fn defaults_come_from_the_flag_declarations() {
        let limits = Limits::default();
        assert_eq!(limits.max_json_bytes, 65536);
        assert!(limits.rate_limits_on());
        assert_eq!(limits.rate_limit_login_per_username, 10);
    }

    #[test]
    fn a_blocked_words_file_adds_to_the_list_and_an_unreadable_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("eventsync-words-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("words.txt");
        std::fs::write(&path, "# the venue's list\nspoiler\n\n  leak  \n").unwrap();
        let mut limits = Limits { blocked_words: vec!["scam".into()], ..Limits::default() };
        limits.blocked_words_file = Some(path);
        limits.load_blocked_words_file().unwrap();
        assert_eq!(limits.blocked_words, ["scam", "spoiler", "leak"]);
        limits.blocked_words_file = Some(dir.join("missing.txt"));
        assert!(limits.load_blocked_words_file().unwrap_err().contains("missing.txt"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
