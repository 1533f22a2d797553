//! `log-dump`: Kafka's kafka-dump-log.sh for a stopped broker's files.

use std::io::Write;
use std::process::ExitCode;

use gregor::cli::log_dump::LogDump;
use gregor::cli::{self, OutputFormat};
use gregor::log::dump::{self, Decoder, Options};

fn main() -> ExitCode {
    let args: LogDump = cli::parse();
    let decoder: Option<&Decoder> = if args.offsets_decoder {
        Some(&gregor::group::describe_offsets_record)
    } else if args.transaction_log_decoder {
        Some(&gregor::transaction::describe_transaction_record)
    } else {
        None
    };
    let options = Options {
        deep_iteration: args.deep_iteration,
        print_data_log: args.print_data_log,
        index_sanity_check: args.index_sanity_check,
        verify_index_only: args.verify_index_only,
        decoder,
    };
    let dumps: Vec<_> = args.files.iter().map(|f| dump::dump(f, &options)).collect();
    if args.json || args.output == OutputFormat::Json {
        cli::outln(serde_json::json!({ "files": dumps }));
    } else {
        for d in &dumps {
            let mut text = Vec::new();
            if let Err(e) = d.write_text(&mut text, &options) {
                return cli::fail("log-dump", e);
            }
            cli::out(String::from_utf8_lossy(&text));
        }
    }
    let damaged = dumps.iter().filter(|d| !d.damage.is_empty()).count();
    if damaged == 0 {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(
        std::io::stderr(),
        "log-dump: damage found in {damaged} file(s)"
    );
    ExitCode::FAILURE
}
