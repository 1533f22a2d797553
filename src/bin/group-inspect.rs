//! `group-inspect`: Kafka's kafka-consumer-groups.sh, for any
//! Kafka-compatible cluster, with the age of each partition's lag.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use gregor::cli::group_inspect::describe::{self, View};
use gregor::cli::group_inspect::{
    delete, delete_offsets, list, reset_offsets, GroupCommand, GroupInspect,
};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;

const TOOL: &str = "group-inspect";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: GroupInspect = cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: GroupInspect) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match args.command {
        GroupCommand::List {
            state,
            group_type,
            output,
        } => {
            let listed = list::run(&admin, &state, group_type).await?;
            cli::out(list::render(&listed.groups, output));
            // The groups of the brokers that answered are printed first.
            if let Some(failure) = listed.failure() {
                bail!(failure);
            }
        }
        GroupCommand::Describe {
            names,
            group,
            all_groups,
            members,
            state,
            watch,
            output,
        } => {
            let groups = describe::groups(&admin, cli::names(names, group), all_groups).await?;
            let view = View::of(members, state);
            match watch {
                None => cli::out(describe::run(&admin, &groups, view, output).await?),
                Some(seconds) => watch_describe(&admin, &groups, view, output, seconds).await?,
            }
        }
        GroupCommand::ResetOffsets {
            name,
            group,
            scope,
            target,
            dry_run: _,
            execute,
            export,
            output,
        } => {
            let group = cli::named(name, group);
            let plan = reset_offsets::run(&admin, &group, &scope, &target, execute).await?;
            cli::out(reset_offsets::render(
                &group, &plan, execute, export, output,
            ));
            if !execute {
                eprintln!("{}", reset_offsets::DRY_RUN);
            }
        }
        GroupCommand::Delete { names, group, yes } => {
            let groups = cli::names(names, group);
            if !cli::confirm(&delete::prompt(&groups), yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            let deleted = delete::run(&admin, &groups).await?;
            cli::out(deleted.render());
            if let Some(failure) = deleted.failure() {
                bail!(failure);
            }
        }
        GroupCommand::DeleteOffsets {
            name,
            group,
            topic,
            yes,
        } => {
            let group = cli::named(name, group);
            let prompt = delete_offsets::prompt(&group, &topic);
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            let deleted = delete_offsets::run(&admin, &group, &topic).await?;
            cli::out(deleted.render());
            if let Some(failure) = deleted.failure() {
                bail!(failure);
            }
        }
    }
    Ok(())
}

/// Redraws the description every `seconds` until Ctrl-C: in place on a
/// terminal, one block after another otherwise. A cluster that is down
/// or restarting is said once and waited out, with the last description
/// left on screen.
async fn watch_describe(
    admin: &Admin,
    groups: &[String],
    view: View,
    output: OutputFormat,
    seconds: u64,
) -> anyhow::Result<()> {
    let term = console::Term::stdout();
    let on_terminal = std::io::stdout().is_terminal() && output == OutputFormat::Table;
    let mut outage = cli::Outage::new(TOOL);
    loop {
        match describe::run(admin, groups, view, output).await {
            Ok(text) => {
                if on_terminal {
                    term.clear_screen()?;
                    cli::out(describe::watch_heading(
                        seconds,
                        groups,
                        std::time::SystemTime::now(),
                    ));
                }
                cli::out(&text);
                if !on_terminal && output == OutputFormat::Table {
                    cli::outln("");
                }
                // After the redraw, which would clear it from a terminal.
                outage.end();
            }
            Err(e) if e.is_transient() => outage.begin(&e),
            Err(e) => return Err(e.into()),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
