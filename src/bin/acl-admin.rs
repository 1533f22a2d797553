//! `acl-admin`: Kafka's kafka-acls.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli;
use gregor::cli::acl_admin::{self, AclAdmin, Plan};
use gregor::client::acl::AclSpec;
use gregor::client::admin::Admin;

const TOOL: &str = "acl-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: AclAdmin = cli::parse();
    let spec = args.spec();
    let plan = match Plan::of(&spec) {
        Ok(plan) => plan,
        Err(e) => cli::usage_error(TOOL, e),
    };
    match run(&args, &spec, plan).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: &AclAdmin, spec: &AclSpec, plan: Plan) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    if let Plan::Remove(_, question) = &plan {
        if !cli::confirm_unless(question, args.force, "--force").map_err(anyhow::Error::msg)? {
            anyhow::bail!("nothing removed");
        }
    }
    cli::out(acl_admin::run(&admin, spec, plan, args.output()).await?);
    Ok(())
}
