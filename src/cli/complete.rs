//! Topic and group names for shell completion, from the cluster. The bash,
//! zsh and fish scripts in completions/ run the tool itself with `GREGOR_COMPLETE=topics`
//! (or `groups`) and the command line's `--bootstrap-server`; the tool then
//! prints one name a line instead of doing its work, and nothing at all when
//! the cluster cannot be reached, so that a completion never shows an error.

use std::time::Duration;

use clap::Parser;

use super::ConnectionArgs;
use crate::client::admin::Admin;

/// The environment variable a completion script sets to ask for names.
pub const ENV: &str = "GREGOR_COMPLETE";

/// A completion waits this long for the cluster at most: a shell waiting on
/// TAB is worse than no names.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The connection flags of any tool's command line; everything else on it
/// is ignored.
#[derive(Parser, Debug)]
#[command(ignore_errors = true)]
struct Names {
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// When a completion script is asking, prints the names it asks for and
/// exits; otherwise returns.
pub fn names_if_asked() {
    let Some(kind) = std::env::var_os(ENV) else {
        return;
    };
    let args = Names::try_parse().ok();
    // The tools call this from inside their own async runtime, which cannot
    // be blocked on: the lookup gets a thread and a runtime of its own.
    let names = std::thread::spawn(move || {
        let args = args?;
        let mut settings = args.connection.settings().ok()?;
        settings.timeout = TIMEOUT;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let admin = Admin::connect(&settings).await.ok()?;
            match kind.to_str()? {
                "topics" => Some(
                    admin
                        .describe_topics(None)
                        .await
                        .ok()?
                        .into_iter()
                        .map(|t| t.name)
                        .collect::<Vec<_>>(),
                ),
                "groups" => Some(
                    admin
                        .list_groups(&[], &[])
                        .await
                        .ok()?
                        .groups
                        .into_iter()
                        .map(|g| g.group_id)
                        .collect(),
                ),
                _ => None,
            }
        })
    })
    .join()
    .ok()
    .flatten()
    .unwrap_or_default();
    let mut text = String::new();
    for name in names {
        text.push_str(&name);
        text.push('\n');
    }
    super::out(text);
    std::process::exit(0);
}
