//! Man pages and shell completions, generated from the clap definitions so
//! that they never drift from `--help`. `GREGOR_BLESS=1 cargo test --test
//! generated_docs` rewrites completions/ and man/; without it the same test
//! fails when they are stale.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

/// Every tool's command definition.
pub fn commands() -> Vec<clap::Command> {
    vec![
        super::acl_admin::AclAdmin::command(),
        super::broker_start::BrokerStart::command(),
        super::config_admin::ConfigAdmin::command(),
        super::console_consumer::ConsoleConsumer::command(),
        super::console_producer::ConsoleProducer::command(),
        super::group_inspect::GroupInspect::command(),
        super::log_dump::LogDump::command(),
        super::metadata_quorum::MetadataQuorum::command(),
        super::perf_test::PerfTest::command(),
        super::topic_admin::TopicAdmin::command(),
    ]
}

/// The generated files: (path relative to the repository, contents).
pub fn render() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for mut command in commands() {
        command.build();
        let name = command.get_name().to_string();
        for (shell, path) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command.clone(), &name, &mut out);
            files.push((path, out));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone()).render(&mut page)?;
        files.push((format!("man/{name}.1"), page));
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let sub_name = format!("{name}-{}", sub.get_name());
            let mut page = Vec::new();
            clap_mangen::Man::new(sub.clone().name(sub_name.clone())).render(&mut page)?;
            files.push((format!("man/{sub_name}.1"), page));
        }
    }
    Ok(files)
}

/// Writes the generated files under `root`.
pub fn write(root: &Path) -> std::io::Result<()> {
    for (path, contents) in render()? {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}
