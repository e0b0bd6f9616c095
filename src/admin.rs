//! Admin commands run on the same binary (`eventsync-chat user create …`).

use std::io::BufRead;

use crate::auth::accounts::{RegisterRequest, create_user};
use crate::auth::password::PasswordHasher;
use crate::clock::SystemClock;
use crate::config::{Limits, UserCreateArgs};
use crate::domain::user::{Role, User};
use crate::error::BoxError;
use crate::store::Store;

/// Creates an account directly in the database; the password comes from the flag, the
/// environment or the first line of standard input.
pub async fn create_user_command(args: UserCreateArgs) -> Result<User, BoxError> {
    let password = match args.password {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let limits = Limits::default();
    let store = Store::open(&args.storage, 1).await?;
    let request = RegisterRequest { username: args.username, password, display_name: args.display_name };
    let role = if args.admin { Role::Admin } else { Role::User };
    let hasher = PasswordHasher::new(limits.password_hash_concurrency);
    let created = create_user(&store, &hasher, &SystemClock, request, role).await;
    store.close().await;
    Ok(created.map_err(|err| format!("{}: {err}", err.code()))?)
}
