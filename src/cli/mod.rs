//! Command-line definitions of Gregor's tools, kept in the library so that
//! one definition drives parsing, `--help`, the man pages and the shell
//! completions. The binaries in src/bin parse with these and print.

pub mod acl_admin;
pub mod broker_start;
pub mod complete;
pub mod config_admin;
pub mod console_consumer;
pub mod console_producer;
pub mod docs;
pub mod group_inspect;
pub mod habits;
pub mod log_dump;
pub mod metadata_quorum;
pub mod perf_test;
pub mod topic_admin;
pub mod topic_export;
pub mod topic_import;
pub mod transform;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::client::config::parse_key_value;
use crate::client::{ClientSettings, Result, DEFAULT_BOOTSTRAP};

/// How to reach the cluster; every tool takes these, before or after its subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// The cluster to connect to, as HOST:PORT[,HOST:PORT...].
    #[arg(
        long,
        global = true,
        env = "GREGOR_BOOTSTRAP",
        default_value = DEFAULT_BOOTSTRAP,
        value_name = "HOST:PORT"
    )]
    pub bootstrap_server: String,

    /// Any librdkafka client property, repeatable: -X security.protocol=SSL.
    #[arg(short = 'X', global = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub client_property: Vec<(String, String)>,

    /// A properties file of client settings, applied before any -X.
    #[arg(long, global = true, value_name = "FILE")]
    pub command_config: Option<PathBuf>,

    /// How long to wait for the cluster to answer, in milliseconds.
    #[arg(long, global = true, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

impl ConnectionArgs {
    pub fn settings(&self) -> Result<ClientSettings> {
        let mut settings = ClientSettings::new(&self.bootstrap_server);
        settings.timeout = std::time::Duration::from_millis(self.timeout);
        if let Some(path) = &self.command_config {
            settings = settings.load_properties_file(path)?;
        }
        for (k, v) in &self.client_property {
            settings = settings.set(k, v);
        }
        Ok(settings)
    }
}

/// `--bootstrap-controller` (KIP-919), for the tools that may ask the
/// controllers rather than a broker.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ControllerArgs {
    /// Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub bootstrap_controller: Option<String>,
}

impl ControllerArgs {
    /// Refuses `--bootstrap-server` and `--bootstrap-controller` together,
    /// as Kafka's tools do. A server from GREGOR_BOOTSTRAP (or the
    /// default) gives way to the controllers.
    pub fn check(&self, connection: &ConnectionArgs) -> std::result::Result<(), String> {
        if self.bootstrap_controller.is_none() {
            return Ok(());
        }
        let from_environment = std::env::var("GREGOR_BOOTSTRAP").ok();
        let server = &connection.bootstrap_server;
        if server != DEFAULT_BOOTSTRAP && Some(server) != from_environment.as_ref() {
            return Err("use --bootstrap-server or --bootstrap-controller, not both".into());
        }
        Ok(())
    }

    /// The connection settings: to the brokers of `--bootstrap-server`, or
    /// to the controllers of `--bootstrap-controller`.
    pub fn settings(&self, connection: &ConnectionArgs) -> Result<ClientSettings> {
        let mut settings = connection.settings()?;
        if let Some(controllers) = &self.bootstrap_controller {
            settings.bootstrap = controllers.clone();
            settings.to_controllers = true;
        }
        Ok(settings)
    }
}

/// How a producer batches and acknowledges; console-producer and perf-test take these.
#[derive(clap::Args, Debug, Clone)]
pub struct ProducerTuning {
    /// Acknowledgements to wait for: 0 (none), 1 (the leader) or all (every in-sync replica).
    #[arg(long, default_value = "all", value_parser = ["0", "1", "all", "-1"])]
    pub acks: String,

    /// Compression of record batches.
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,

    /// How long to wait for more records before sending a batch.
    #[arg(long, value_name = "MS")]
    pub linger_ms: Option<u32>,

    /// The largest batch to send, in bytes.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,
}

impl ProducerTuning {
    /// The librdkafka properties these flags stand for.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("acks", self.acks.clone()),
            ("compression.type", self.compression.name().to_string()),
        ];
        if let Some(ms) = self.linger_ms {
            out.push(("linger.ms", ms.to_string()));
        }
        if let Some(bytes) = self.batch_size {
            out.push(("batch.size", bytes.to_string()));
        }
        out
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Aligned columns for people.
    #[default]
    Table,
    /// JSON for programs.
    Json,
}

/// Parses the command line; a mistake is one line on stderr and exit 2,
/// while --help and --version print as usual.
pub fn parse<T: Parser>() -> T {
    complete::names_if_asked();
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's message runs up to the first blank line (a list of
            // missing arguments continues on indented lines); the usage and
            // tips after it are what --help is for.
            let command = T::command();
            let tool = command.get_name().to_string();
            let subcommands: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
            let args: Vec<String> = std::env::args().skip(1).collect();
            if let Some(hint) = habits::pointer(&tool, &subcommands, &args) {
                eprintln!("{tool}: {hint} (see --help)");
                std::process::exit(2);
            }
            let rendered = e.render().to_string();
            let mut message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            // clap's "did you mean" comes after the blank line; keep it.
            message.extend(
                rendered
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("tip:") && l.contains("similar")),
            );
            let message = message.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            eprintln!("{tool}: {message} (see --help)");
            std::process::exit(2);
        }
    }
}

/// A name given as rpk takes it (first argument) or as Kafka's scripts do
/// (a flag); clap lets exactly one through.
pub fn named(positional: Option<String>, flag: Option<String>) -> String {
    positional
        .or(flag)
        .unwrap_or_else(|| unreachable!("clap requires the name or its flag"))
}

/// Names given as rpk takes them or with a repeated flag; clap lets one
/// way through.
pub fn names(positional: Vec<String>, flag: Vec<String>) -> Vec<String> {
    if positional.is_empty() {
        flag
    } else {
        positional
    }
}

/// Refuses a command line whose flags do not go together, as `parse`
/// refuses one clap rejects: one line on stderr and exit 2.
pub fn usage_error(tool: &str, error: impl std::fmt::Display) -> ! {
    eprintln!("{tool}: {error} (see --help)");
    std::process::exit(2);
}

/// Prints a failure as one line and gives the exit code for it.
pub fn fail(tool: &str, error: impl std::fmt::Display) -> ExitCode {
    let message = error.to_string();
    let one_line: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    eprintln!("{tool}: {}", one_line.join(" "));
    ExitCode::FAILURE
}

/// Asks before a destructive action. `--yes` skips the question; without it
/// a non-interactive stdin is a refusal, never a silent yes.
pub fn confirm(prompt: &str, yes: bool) -> std::result::Result<bool, String> {
    confirm_unless(prompt, yes, "--yes")
}

/// `confirm` for a tool whose flag to skip the question is `flag`, such as
/// kafka-acls.sh's --force.
pub fn confirm_unless(prompt: &str, yes: bool, flag: &str) -> std::result::Result<bool, String> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        let one_line = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
        return Err(format!(
            "refusing to go on without {flag}: stdin is not a terminal ({one_line})"
        ));
    }
    // Acting on the first key would leave the rest of a typed "yes" and
    // its Enter to the shell: the answer counts once Enter is hit.
    dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .wait_for_newline(true)
        .interact()
        .map_err(|e| format!("cannot ask for confirmation: {e}"))
}

/// A plain table in the style of Kafka's tools: aligned columns, no borders.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    table
}

/// Prints a table without the padding comfy-table puts at line ends.
pub fn print_table(table: &comfy_table::Table) {
    out(table_text(table));
}

/// Prints a line on stdout; see `out`.
pub fn outln(line: impl std::fmt::Display) {
    out(format!("{line}\n"));
}

/// Writes to stdout. A reader that has gone away (`| head`) ends the tool
/// quietly and successfully, as it ends a C tool, where `print!` would panic.
pub fn out(text: impl AsRef<str>) {
    if let Err(e) = write_out(text.as_ref().as_bytes()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Writes to stdout and flushes, for a tool that has more to do than exit
/// when the reader goes away (the error is then `BrokenPipe`).
pub fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush())
}

/// A table as print_table prints it, one line per row.
pub fn table_text(table: &comfy_table::Table) -> String {
    table
        .lines()
        .map(|line| format!("{}\n", line.trim()))
        .collect()
}

/// A spell of transient errors (see `ClientError::is_transient`), said once
/// on stderr when it begins and once when the cluster answers again, so
/// that a tool running through a restart is neither silent nor noisy.
pub struct Outage {
    tool: &'static str,
    ongoing: bool,
}

impl Outage {
    pub fn new(tool: &'static str) -> Outage {
        Outage {
            tool,
            ongoing: false,
        }
    }

    pub fn begin(&mut self, error: &crate::client::ClientError) {
        if !std::mem::replace(&mut self.ongoing, true) {
            eprintln!(
                "{}: {error}; retrying until the cluster is back (Ctrl-C stops)",
                self.tool
            );
        }
    }

    pub fn end(&mut self) {
        if std::mem::take(&mut self.ongoing) {
            eprintln!("{}: the cluster is back", self.tool);
        }
    }
}
