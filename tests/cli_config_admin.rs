//! `config-admin` against a broker the test starts: topic and broker
//! configs described and altered as kafka-configs.sh does, and one clear
//! line for what it cannot do.

mod common;

use common::{run_tool, BrokerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_config-admin");
const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");

#[test]
fn topic_configs_are_described_altered_and_deleted() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    run_tool(TOPIC_ADMIN, &bs, &["create", "--topic", "orders"], b"").ok();

    assert_eq!(
        tool(&["--describe", "--topic", "orders"]).ok(),
        "Dynamic configs for topic orders are:\n",
        "no overrides yet"
    );
    assert_eq!(
        tool(&[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "orders",
            "--add-config",
            "retention.ms=3600000,cleanup.policy=[compact,delete]",
        ])
        .ok(),
        "Completed updating config for topic orders.\n"
    );
    let described = tool(&["--describe", "--topic", "orders"]);
    let lines: Vec<&str> = described.ok().lines().collect();
    assert_eq!(lines[0], "Dynamic configs for topic orders are:");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[1].starts_with(
            "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete"
        ),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(
            "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000"
        ),
        "{lines:?}"
    );

    let all = tool(&["--describe", "--topic", "orders", "--all"]);
    let all = all.ok();
    assert!(
        all.starts_with("All configs for topic orders are:\n"),
        "{all}"
    );
    assert!(
        all.lines().any(|l| l.starts_with("  segment.bytes=")
            && l.contains("sensitive=false")
            && l.contains("DEFAULT_CONFIG:")),
        "defaults too, with where they come from: {all}"
    );

    let json: serde_json::Value =
        serde_json::from_str(tool(&["--describe", "--topic", "orders", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["entity_type"], "topics");
    assert_eq!(json[0]["entity_name"], "orders");
    assert_eq!(json[0]["configs"][1]["name"], "retention.ms");
    assert_eq!(json[0]["configs"][1]["value"], "3600000");
    assert_eq!(json[0]["configs"][1]["source"], "DYNAMIC_TOPIC_CONFIG");

    tool(&[
        "--alter",
        "--topic",
        "orders",
        "--delete-config",
        "retention.ms",
    ])
    .ok();
    let again = tool(&[
        "--alter",
        "--topic",
        "orders",
        "--delete-config",
        "retention.ms",
    ]);
    assert_eq!(again.code, Some(1), "{}", again.stderr);
    assert!(
        again
            .stderr
            .starts_with("config-admin: Invalid config(s): retention.ms"),
        "{}",
        again.stderr
    );
    assert_eq!(again.stderr.lines().count(), 1);

    let bad = tool(&[
        "--alter",
        "--topic",
        "orders",
        "--add-config",
        "retention.ms=soon",
    ]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("InvalidConfig"), "{}", bad.stderr);
    assert_eq!(bad.stderr.lines().count(), 1);

    let missing = tool(&["--describe", "--topic", "nosuch"]);
    assert_eq!(missing.code, Some(1));
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
}

#[test]
fn broker_configs_are_described_and_refused_changes_say_why() {
    let broker = BrokerProcess::start(&["log.retention.hours=48"]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");

    let all = tool(&["--describe", "--broker", "1", "--all"]);
    let all = all.ok();
    assert!(all.starts_with("All configs for broker 1 are:\n"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("  log.retention.hours=48 ")
                && l.contains("STATIC_BROKER_CONFIG:log.retention.hours=48")),
        "{all}"
    );
    assert_eq!(
        tool(&["--describe", "--entity-type", "brokers"]).ok(),
        "Dynamic configs for broker 1 are:\nDefault configs for brokers in the cluster are:\n",
        "every broker and the cluster default; none set dynamically"
    );
    let defaults = tool(&[
        "--describe",
        "--broker-defaults",
        "--all",
        "--output",
        "json",
    ]);
    let defaults: serde_json::Value = serde_json::from_str(defaults.ok()).unwrap();
    assert_eq!(defaults[0]["entity_name"], serde_json::Value::Null);
    assert!(defaults[0]["configs"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));

    for args in [
        &[
            "--alter",
            "--broker",
            "1",
            "--add-config",
            "log.retention.hours=1",
        ][..],
        &[
            "--alter",
            "--broker-defaults",
            "--add-config",
            "log.retention.hours=1",
        ][..],
    ] {
        let refused = tool(args);
        assert_eq!(refused.code, Some(1), "{args:?}: {}", refused.stderr);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(
            refused.stderr.contains("cannot be altered at run time"),
            "the broker's own reason: {}",
            refused.stderr
        );
    }
}

#[test]
fn what_config_admin_cannot_do_is_one_line_before_connecting() {
    // No broker: these are refused before any connection is tried.
    let tool = |args: &[&str]| run_tool(BIN, "127.0.0.1:1", args, b"");
    for (args, why) in [
        (
            &[
                "--alter",
                "--entity-type",
                "clients",
                "--entity-name",
                "app",
                "--add-config",
                "producer_byte_rate=fast",
            ][..],
            "a quota is a number",
        ),
        (
            &[
                "--alter",
                "--user",
                "alice",
                "--add-config",
                "producer_byte_rate=1024,SCRAM-SHA-256=[password=x]",
            ][..],
            "separate commands",
        ),
        (
            &["--describe", "--topic", "t", "--client", "app"][..],
            "name one entity",
        ),
        (&["--alter", "--topic", "t"][..], "--add-config"),
        (
            &["--alter", "--topic", "t", "--add-config", "novalue"][..],
            "key=value",
        ),
        (
            &["--describe", "--topic", "t", "--add-config", "a=b"][..],
            "cannot be used with",
        ),
    ] {
        let refused = tool(args);
        assert_eq!(refused.code, Some(2), "{args:?}: {}", refused.stderr);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(
            refused.stderr.starts_with("config-admin: "),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains(why), "{args:?}: {}", refused.stderr);
    }
    let no_password = tool(&[
        "--alter",
        "--user",
        "alice",
        "--add-config",
        "SCRAM-SHA-256=[iterations=8192]",
    ]);
    assert_eq!(no_password.code, Some(1), "{}", no_password.stderr);
}

/// A broker whose only listener is SASL_PLAINTEXT with SCRAM, and an
/// admin user bootstrapped into the quorum.
fn scram_broker() -> BrokerProcess {
    BrokerProcess::start(&[
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-512=[name=admin,password=admin-secret]",
    ])
}

#[test]
fn scram_users_are_created_described_and_deleted_over_sasl() {
    let broker = scram_broker();
    let bs = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let admin_properties = dir.path().join("admin.properties");
    std::fs::write(
        &admin_properties,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.username=admin\nsasl.password=admin-secret\n",
    )
    .unwrap();
    let admin_config = admin_properties.to_str().unwrap();
    let as_admin = |args: &[&str]| {
        run_tool(
            BIN,
            &bs,
            &[&["--command-config", admin_config][..], args].concat(),
            b"",
        )
    };

    let created = as_admin(&[
        "--alter",
        "--user",
        "alice",
        "--add-config",
        "SCRAM-SHA-256=[iterations=8192,password=alice-secret]",
    ]);
    assert_eq!(created.ok(), "Completed updating config for user alice.\n");
    assert!(
        created
            .stderr
            .contains("warning: a password in --add-config is visible"),
        "{}",
        created.stderr
    );
    let password_file = dir.path().join("alice.pw");
    std::fs::write(&password_file, "alice-512-secret\n").unwrap();
    let from_file = as_admin(&[
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        "alice",
        "--add-config",
        "SCRAM-SHA-512=[]",
        "--password-file",
        password_file.to_str().unwrap(),
    ]);
    assert_eq!(
        from_file.ok(),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        from_file.stderr, "",
        "no warning without a password on the command line"
    );

    assert_eq!(
        as_admin(&["--describe", "--user", "alice"]).ok(),
        "SCRAM credential configs for user-principal 'alice' are \
         SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096\n"
    );
    let all: serde_json::Value =
        serde_json::from_str(as_admin(&["--describe", "--entity-type", "users", "--json"]).ok())
            .unwrap();
    let users: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["admin", "alice"]);

    // The new credentials work, given to another tool with -X.
    for (mechanism, password) in [
        ("SCRAM-SHA-256", "alice-secret"),
        ("SCRAM-SHA-512", "alice-512-secret"),
    ] {
        let listed = run_tool(
            TOPIC_ADMIN,
            &bs,
            &[
                "-X",
                "security.protocol=SASL_PLAINTEXT",
                "-X",
                &format!("sasl.mechanism={mechanism}"),
                "-X",
                "sasl.username=alice",
                "-X",
                &format!("sasl.password={password}"),
                "list",
            ],
            b"",
        );
        listed.ok();
    }

    // The tools' own connection (broker defaults, reassignments)
    // authenticates with the same settings.
    let defaults = as_admin(&["--describe", "--broker-defaults", "--all", "--json"]);
    let defaults: serde_json::Value = serde_json::from_str(defaults.ok()).unwrap();
    assert!(defaults[0]["configs"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    run_tool(
        TOPIC_ADMIN,
        &bs,
        &[
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanism=SCRAM-SHA-256",
            "-X",
            "sasl.username=alice",
            "-X",
            "sasl.password=alice-secret",
            "reassign",
            "--list",
        ],
        b"",
    )
    .ok();

    assert_eq!(
        as_admin(&[
            "--alter",
            "--user",
            "alice",
            "--delete-config",
            "SCRAM-SHA-256"
        ])
        .ok(),
        "Completed updating config for user alice.\n"
    );
    assert_eq!(
        as_admin(&["--describe", "--user", "alice"]).ok(),
        "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=4096\n"
    );
    let gone = as_admin(&[
        "--alter",
        "--user",
        "alice",
        "--delete-config",
        "SCRAM-SHA-256",
    ]);
    assert_eq!(gone.code, Some(1), "{}", gone.stderr);
    assert_eq!(gone.stderr.lines().count(), 1, "{}", gone.stderr);
    assert!(gone.stderr.contains("ResourceNotFound"), "{}", gone.stderr);
    let weak = as_admin(&[
        "--alter",
        "--user",
        "bob",
        "--add-config",
        "SCRAM-SHA-256=[iterations=10,password=x]",
    ]);
    assert_eq!(weak.code, Some(1), "{}", weak.stderr);
    assert_eq!(
        weak.stderr.lines().count(),
        2,
        "the warning, then the broker's refusal: {}",
        weak.stderr
    );
}
