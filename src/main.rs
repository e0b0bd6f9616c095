//! `eventsync-chat`: parse the command line, then hand over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use eventsync_chat::config::{Cli, Command, LogFormat, UserCommand};
use tracing_subscriber::EnvFilter;

/// mimalloc hands freed memory back to the system: with glibc's per-thread arenas, the
/// 19 MiB each Argon2 hash borrows stayed resident after every login wave.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), eventsync_chat::error::BoxError> = match cli.command {
        Command::Serve(args) => {
            init_logging(args.log_format);
            // Every socket is a file descriptor: use all the process may have.
            if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
                tracing::warn!(error = %err, "could not raise the open-file limit");
            }
            async {
                let listener = tokio::net::TcpListener::bind(args.listen).await?;
                // Scripts and tests read the bound address (port 0 picks one) from stdout.
                println!("eventsync-chat listening on http://{}", listener.local_addr()?);
                let clock = Arc::new(eventsync_chat::clock::SystemClock);
                eventsync_chat::run(*args, clock, listener, shutdown_signal()).await
            }
            .await
        }
        Command::User { command: UserCommand::Create(args) } => {
            init_logging(LogFormat::Text);
            eventsync_chat::admin::create_user_command(args).await.and_then(|user| {
                println!("{}", serde_json::to_string(&user)?);
                Ok(())
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("eventsync-chat: {err}");
            ExitCode::FAILURE
        }
    }
}
