//! Builds the browser UI (`web/`, Vite) so the binary can embed `web/dist`.
//!
//! Runs `npm ci` when `web/node_modules` is missing and `npm run build` whenever the UI's
//! sources change. Without Node.js, an existing `web/dist` is used; with neither, the
//! build stops with a message saying what to install. `EVENTSYNC_SKIP_WEB_BUILD=1`
//! builds the server without building the UI (it then serves whatever `web/dist` holds).

use std::path::Path;
use std::process::Command;

fn main() {
    for path in [
        "web/src",
        "web/index.html",
        "web/package.json",
        "web/package-lock.json",
        "web/vite.config.ts",
        "web/tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=EVENTSYNC_SKIP_WEB_BUILD");
    let web = Path::new("web");
    let dist = web.join("dist");
    let built = dist.join("index.html").exists();
    if std::env::var_os("EVENTSYNC_SKIP_WEB_BUILD").is_some() {
        std::fs::create_dir_all(&dist).expect("create web/dist");
        return;
    }
    let npm_works = Command::new("npm").arg("--version").output().is_ok_and(|out| out.status.success());
    if !npm_works {
        if built {
            println!("cargo:warning=npm not found: embedding the existing web/dist without rebuilding it");
            return;
        }
        panic!(
            "the browser UI (web/) is built with Node.js 20+ and npm, and neither was found. \
             Install Node.js (e.g. `apt-get install nodejs npm`), or set EVENTSYNC_SKIP_WEB_BUILD=1 \
             to build the server without its UI."
        );
    }
    if !web.join("node_modules").exists() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(web));
    }
    run(Command::new("npm").args(["run", "build", "--silent"]).current_dir(web));
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|err| panic!("could not run {command:?}: {err}"));
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
