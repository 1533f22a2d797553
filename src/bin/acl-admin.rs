//! `acl-admin`: Kafka's kafka-acls.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli::acl_admin::AclAdmin;
use gregor::cli::{self, OutputFormat};
use gregor::client::acl::{AclAction, AclBinding, AclBindingFilter, AclSpec};
use gregor::client::admin::Admin;
use serde_json::json;

const TOOL: &str = "acl-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: AclAdmin = cli::parse();
    let spec = args.spec();
    if let Err(e) = spec.validate() {
        cli::usage_error(TOOL, e);
    }
    let output = args.output();
    // Mistakes in the flags are found before connecting, as kafka-acls.sh
    // finds them.
    let planned = match spec.action {
        AclAction::Add => spec.bindings_to_add().map(Plan::Add),
        AclAction::Remove => spec
            .removal_filters()
            .and_then(|f| Ok(Plan::Remove(f, spec.removal_question()?))),
        AclAction::List => Ok(Plan::List(spec.list_filters())),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => cli::usage_error(TOOL, e),
    };
    match run(&args, &spec, plan, output).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

enum Plan {
    Add(Vec<AclBinding>),
    Remove(Vec<AclBindingFilter>, String),
    List(Vec<AclBindingFilter>),
}

async fn run(
    args: &AclAdmin,
    spec: &AclSpec,
    plan: Plan,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match plan {
        Plan::Add(bindings) => {
            admin.create_acls(bindings.clone()).await?;
            print(&bindings, output, |n| format!("Added {}:", count(n)));
        }
        Plan::Remove(filters, question) => {
            if !cli::confirm_unless(&question, args.force, "--force").map_err(anyhow::Error::msg)? {
                anyhow::bail!("nothing removed");
            }
            let removed = admin.delete_acls(filters).await?;
            print(&removed, output, |n| format!("Removed {}:", count(n)));
        }
        Plan::List(filters) => {
            let found = spec.listed(admin.describe_acls(filters).await?)?;
            print(&found, output, |n| format!("{}:", count(n)));
        }
    }
    Ok(())
}

fn print(bindings: &[AclBinding], output: OutputFormat, title: impl Fn(usize) -> String) {
    match output {
        OutputFormat::Json => cli::outln(json!(bindings)),
        OutputFormat::Table if bindings.is_empty() => cli::outln("No ACLs."),
        OutputFormat::Table => {
            let mut table = cli::table(&[
                "RESOURCE_TYPE",
                "NAME",
                "PATTERN_TYPE",
                "PRINCIPAL",
                "HOST",
                "OPERATION",
                "PERMISSION",
            ]);
            for b in bindings {
                table.add_row(vec![
                    b.pattern.resource_type.to_string(),
                    b.pattern.name.clone().unwrap_or_default(),
                    b.pattern.pattern_type.to_string(),
                    b.entry.principal.clone(),
                    b.entry.host.clone(),
                    b.entry.operation.to_string(),
                    b.entry.permission_type.to_string(),
                ]);
            }
            cli::outln(title(bindings.len()));
            cli::print_table(&table);
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 ACL".to_string()
    } else {
        format!("{n} ACLs")
    }
}
