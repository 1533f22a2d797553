//! `config-admin` against a broker the test starts: topic and broker
//! configs described and altered as kafka-configs.sh does, and one clear
//! line for what it cannot do.

use crate::harness;

use harness::{run_tool, BrokerProcess};

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

/// rdkafka's AlterConfigs (the legacy, whole-set form) on broker 1:
/// whether the request was answered.
fn legacy_alter(bs: &str, configs: &[(&str, &str)], validate_only: bool) -> Result<(), String> {
    use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
    let admin = harness::admin(bs);
    let mut alter = AlterConfig::new(ResourceSpecifier::Broker(1));
    for (k, v) in configs {
        alter = alter.set(k, v);
    }
    let opts = AdminOptions::new().validate_only(validate_only);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let results = runtime
        .block_on(admin.alter_configs(&[alter], &opts))
        .map_err(|e| e.to_string())?;
    assert_eq!(results.len(), 1);
    Ok(())
}

/// The line of `key` in a describe listing.
fn config_line<'a>(listing: &'a str, key: &str) -> &'a str {
    let prefix = format!("  {key}=");
    listing
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {key} in {listing}"))
}

#[test]
fn dynamic_broker_configs_are_stored_in_the_quorum_and_applied() {
    let mut broker = BrokerProcess::start(&["log.retention.hours=48"]);
    let bs = broker.bootstrap();
    let tool = |bs: &str, args: &[&str]| run_tool(BIN, bs, args, b"");

    let all = tool(&bs, &["--describe", "--broker", "1", "--all"]);
    let all = all.ok();
    assert!(all.starts_with("All configs for broker 1 are:\n"), "{all}");
    assert!(
        config_line(all, "log.retention.hours")
            .contains("STATIC_BROKER_CONFIG:log.retention.hours=48"),
        "{all}"
    );
    assert_eq!(
        tool(&bs, &["--describe", "--entity-type", "brokers"]).ok(),
        "Dynamic configs for broker 1 are:\nDefault configs for brokers in the cluster are:\n",
        "every broker and the cluster default; none set dynamically"
    );

    // A cluster default of a log config is the default of new topics.
    tool(
        &bs,
        &[
            "--alter",
            "--broker-defaults",
            "--add-config",
            "log.retention.ms=3600000",
        ],
    )
    .ok();
    let defaults = tool(
        &bs,
        &["--describe", "--broker-defaults", "--output", "json"],
    );
    let defaults: serde_json::Value = serde_json::from_str(defaults.ok()).unwrap();
    assert_eq!(defaults[0]["entity_name"], serde_json::Value::Null);
    let configs = defaults[0]["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 1, "{defaults}");
    assert_eq!(configs[0]["name"], "log.retention.ms");
    assert_eq!(configs[0]["value"], "3600000");
    run_tool(TOPIC_ADMIN, &bs, &["create", "--topic", "fresh"], b"").ok();
    let fresh = tool(&bs, &["--describe", "--topic", "fresh", "--all"]);
    let line = config_line(fresh.ok(), "retention.ms");
    assert!(
        line.starts_with("  retention.ms=3600000 ")
            && line.contains("DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000")
            && line.contains("STATIC_BROKER_CONFIG:log.retention.hours=48"),
        "{line}"
    );

    // This broker's own values, including a key Kafka takes dynamically
    // and Gregor does not use (librdkafka's 0081_admin sets it).
    tool(
        &bs,
        &[
            "--alter",
            "--broker",
            "1",
            "--add-config",
            "message.max.bytes=2000000,sasl.kerberos.min.time.before.relogin=58000",
        ],
    )
    .ok();
    // The legacy AlterConfigs (rdkafka's alter_configs) with
    // validate_only: accepted, and nothing changes.
    assert_eq!(legacy_alter(&bs, &[("num.io.threads", "4")], true), Ok(()));
    let listing = tool(&bs, &["--describe", "--broker", "1"]);
    assert!(!listing.ok().contains("num.io.threads"), "{}", listing.ok());

    // A static key is refused with Kafka's reason, and nothing changes.
    let refused = tool(
        &bs,
        &[
            "--alter",
            "--broker",
            "1",
            "--add-config",
            "log.dirs=/elsewhere",
        ],
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("Cannot update these configs dynamically: Set(log.dirs)"),
        "{}",
        refused.stderr
    );
    // Per-broker keys cannot be the cluster default.
    let refused = tool(
        &bs,
        &[
            "--alter",
            "--broker-defaults",
            "--add-config",
            "listener.name.plaintext.ssl.keystore.location=/k",
        ],
    );
    assert!(
        refused.stderr.contains("broker id must be specified"),
        "{}",
        refused.stderr
    );

    // Kept in the quorum: the same after a restart.
    broker.stop();
    broker.restart();
    let bs = broker.bootstrap();
    let dynamic = tool(&bs, &["--describe", "--broker", "1"]);
    let dynamic = dynamic.ok();
    assert!(
        config_line(dynamic, "message.max.bytes")
            .starts_with("  message.max.bytes=2000000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:message.max.bytes=2000000, DEFAULT_CONFIG:message.max.bytes=1048588}"),
        "{dynamic}"
    );
    assert!(
        config_line(dynamic, "sasl.kerberos.min.time.before.relogin")
            .contains("DYNAMIC_BROKER_CONFIG"),
        "{dynamic}"
    );
    assert!(!dynamic.contains("log.dirs"), "{dynamic}");
    run_tool(TOPIC_ADMIN, &bs, &["create", "--topic", "after"], b"").ok();
    let after = tool(&bs, &["--describe", "--topic", "after", "--all"]);
    let after = after.ok();
    assert!(
        config_line(after, "max.message.bytes").contains("max.message.bytes=2000000 ")
            && config_line(after, "retention.ms").starts_with("  retention.ms=3600000 "),
        "{after}"
    );

    // The legacy AlterConfigs replaces the broker's whole set, as Kafka's.
    assert_eq!(
        legacy_alter(
            &bs,
            &[("sasl.kerberos.min.time.before.relogin", "60000")],
            false
        ),
        Ok(())
    );
    let listing = tool(&bs, &["--describe", "--broker", "1"]);
    assert!(
        listing
            .ok()
            .contains("sasl.kerberos.min.time.before.relogin=60000")
            && !listing.ok().contains("message.max.bytes"),
        "{}",
        listing.ok()
    );
    // (rdkafka's alter_configs drops a resource's error code: the
    // refusal shows as nothing changed.)
    legacy_alter(&bs, &[("broker.id", "7")], false).unwrap();
    let listing = tool(&bs, &["--describe", "--broker", "1"]);
    assert!(
        listing
            .ok()
            .contains("sasl.kerberos.min.time.before.relogin=60000")
            && !listing.ok().contains("broker.id"),
        "{}",
        listing.ok()
    );

    // Deleting the default brings back the static value.
    tool(
        &bs,
        &[
            "--alter",
            "--broker-defaults",
            "--delete-config",
            "log.retention.ms",
        ],
    )
    .ok();
    let after = tool(&bs, &["--describe", "--topic", "after", "--all"]);
    assert!(
        config_line(after.ok(), "retention.ms")
            .starts_with("  retention.ms=172800000 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.hours=48"),
        "{}",
        after.ok()
    );
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
    as_admin(&[
        "--alter",
        "--broker-defaults",
        "--add-config",
        "log.retention.ms=7200000",
    ])
    .ok();
    let defaults = as_admin(&["--describe", "--broker-defaults", "--all", "--json"]);
    let defaults: serde_json::Value = serde_json::from_str(defaults.ok()).unwrap();
    assert_eq!(defaults[0]["configs"][0]["value"], "7200000", "{defaults}");
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

#[test]
fn client_metrics_describe_without_a_name_lists_every_subscription() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    let every = ["--describe", "--entity-type", "client-metrics"];
    assert_eq!(tool(&every).ok(), "", "no subscriptions yet");
    for (name, interval) in [("producers", "1000"), ("consumers", "2000")] {
        let config = format!("metrics=org.apache.kafka.,interval.ms={interval}");
        tool(&[
            "--alter",
            "--entity-type",
            "client-metrics",
            "--entity-name",
            name,
            "--add-config",
            &config,
        ])
        .ok();
    }
    // Listed with ListConfigResources, then described one by one, by name.
    let listed = tool(&every).ok().to_string();
    let headings: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("Dynamic configs"))
        .collect();
    assert_eq!(
        headings,
        [
            "Dynamic configs for client-metric consumers are:",
            "Dynamic configs for client-metric producers are:"
        ],
        "{listed}"
    );
    assert!(listed.contains("interval.ms=2000 "), "{listed}");
    assert!(listed.contains("interval.ms=1000 "), "{listed}");
}

/// `--bootstrap-controller` (KIP-919): topic and broker configs described
/// and altered at a controller's CONTROLLER listener, which librdkafka
/// cannot talk to (a controller serves no Metadata); what needs a broker
/// says so in one line.
#[test]
fn configs_are_described_and_altered_at_the_controllers() {
    let cluster = harness::start_cluster(1, &[]);
    let bs = cluster[0].bootstrap();
    let controller = format!("127.0.0.1:{}", cluster[0].controller_port());
    run_tool(TOPIC_ADMIN, &bs, &["create", "--topic", "orders"], b"").ok();
    let tool = |args: &[&str]| {
        let mut all = vec!["--bootstrap-controller", controller.as_str()];
        all.extend_from_slice(args);
        run_tool(BIN, &bs, &all, b"")
    };

    assert_eq!(
        tool(&[
            "--alter",
            "--topic",
            "orders",
            "--add-config",
            "retention.ms=3600000"
        ])
        .ok(),
        "Completed updating config for topic orders.\n"
    );
    let described = tool(&["--describe", "--topic", "orders"]);
    assert!(
        config_line(described.ok(), "retention.ms").starts_with("  retention.ms=3600000 "),
        "{}",
        described.stdout
    );
    // The brokers see what was set at the controller.
    let at_broker = run_tool(BIN, &bs, &["--describe", "--topic", "orders"], b"");
    assert!(
        config_line(at_broker.ok(), "retention.ms").starts_with("  retention.ms=3600000 "),
        "{}",
        at_broker.stdout
    );

    assert_eq!(
        tool(&[
            "--alter",
            "--broker",
            "1",
            "--add-config",
            "log.cleaner.threads=2"
        ])
        .ok(),
        "Completed updating config for broker 1.\n"
    );
    assert_eq!(
        tool(&[
            "--alter",
            "--broker-defaults",
            "--add-config",
            "log.retention.ms=7200000"
        ])
        .ok(),
        "Completed updating default config for brokers in the cluster.\n"
    );
    let brokers = tool(&["--describe", "--entity-type", "brokers"]);
    let brokers = brokers.ok();
    assert!(
        brokers.starts_with("Dynamic configs for broker 1 are:\n  log.cleaner.threads=2 "),
        "{brokers}"
    );
    assert!(
        config_line(brokers, "log.retention.ms").starts_with("  log.retention.ms=7200000 "),
        "{brokers}"
    );

    assert_eq!(
        tool(&[
            "--alter",
            "--client",
            "app",
            "--add-config",
            "producer_byte_rate=1048576"
        ])
        .ok(),
        "Completed updating config for client-id 'app'.\n"
    );
    let quotas = run_tool(BIN, &bs, &["--describe", "--client", "app"], b"");
    assert!(
        quotas.ok().contains("producer_byte_rate=1048576"),
        "{}",
        quotas.stdout
    );

    for (args, why) in [
        (
            &["--describe", "--entity-type", "topics"][..],
            "--entity-name",
        ),
        (
            &["--describe", "--client", "app"][..],
            "DescribeClientQuotas",
        ),
        (&["--describe", "--user", "alice"][..], "--bootstrap-server"),
        (&["--describe", "--broker", "7"][..], "controller 7"),
    ] {
        let refused = tool(args);
        assert_eq!(refused.code, Some(1), "{args:?}: {}", refused.stderr);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(refused.stderr.contains(why), "{args:?}: {}", refused.stderr);
    }
    let both = run_tool(
        BIN,
        &bs,
        &[
            "--bootstrap-server",
            "127.0.0.1:1",
            "--bootstrap-controller",
            &controller,
            "--describe",
            "--topic",
            "orders",
        ],
        b"",
    );
    assert_eq!(both.code, Some(2), "{}", both.stderr);
    assert!(both.stderr.contains("not both"), "{}", both.stderr);
}
