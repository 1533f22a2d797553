//! `acl-admin` against a broker with Kafka's StandardAuthorizer: ACLs
//! added, listed (table and JSON), removed after a confirmation, the
//! --producer and --consumer sets as kafka-acls.sh expands them, and one
//! line for every mistake.

use crate::harness;

use std::collections::BTreeSet;

use harness::{run_tool, BrokerProcess};

const BIN: &str = env!("CARGO_BIN_EXE_acl-admin");

/// The tool itself connects as User:ANONYMOUS (no SASL or mTLS here): a
/// super user, so that the cluster ACLs the test adds never lock it out.
const BROKER: &[&str] = &[
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=true",
    "super.users=User:ANONYMOUS",
];

/// The ACLs of a --json listing as "TYPE NAME PATTERN PRINCIPAL HOST OPERATION PERMISSION".
fn acls(json: &str) -> BTreeSet<String> {
    let listed: serde_json::Value = serde_json::from_str(json).expect("json");
    listed
        .as_array()
        .expect("an array of ACLs")
        .iter()
        .map(|a| {
            [
                "resource_type",
                "name",
                "pattern_type",
                "principal",
                "host",
                "operation",
                "permission_type",
            ]
            .iter()
            .map(|k| a[k].as_str().unwrap_or_else(|| panic!("{k} in {a}")))
            .collect::<Vec<_>>()
            .join(" ")
        })
        .collect()
}

fn set(rows: &[&str]) -> BTreeSet<String> {
    rows.iter().map(|r| r.to_string()).collect()
}

#[test]
fn acls_are_added_listed_and_removed() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");

    assert_eq!(tool(&["--list"]).ok(), "No ACLs.\n");
    let added = tool(&[
        "--add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Read",
        "--operation",
        "describe",
        "--topic",
        "orders",
    ]);
    let added = added.ok();
    assert!(added.starts_with("Added 2 ACLs:\n"), "{added}");
    let listed = tool(&["--list", "--topic", "orders"]);
    let rows: Vec<Vec<&str>> = listed
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["2", "ACLs:"],
            vec![
                "RESOURCE_TYPE",
                "NAME",
                "PATTERN_TYPE",
                "PRINCIPAL",
                "HOST",
                "OPERATION",
                "PERMISSION"
            ],
            vec![
                "TOPIC",
                "orders",
                "LITERAL",
                "User:alice",
                "*",
                "READ",
                "ALLOW"
            ],
            vec![
                "TOPIC",
                "orders",
                "LITERAL",
                "User:alice",
                "*",
                "DESCRIBE",
                "ALLOW"
            ],
        ]
    );

    tool(&[
        "--add",
        "--producer",
        "--idempotent",
        "--allow-principal",
        "User:bob",
        "--topic",
        "pay-",
        "--transactional-id",
        "tx-",
        "--resource-pattern-type",
        "prefixed",
    ])
    .ok();
    assert_eq!(
        acls(tool(&["--list", "--principal", "User:bob", "--json"]).ok()),
        set(&[
            "TOPIC pay- PREFIXED User:bob * WRITE ALLOW",
            "TOPIC pay- PREFIXED User:bob * DESCRIBE ALLOW",
            "TOPIC pay- PREFIXED User:bob * CREATE ALLOW",
            "TRANSACTIONAL_ID tx- PREFIXED User:bob * WRITE ALLOW",
            "TRANSACTIONAL_ID tx- PREFIXED User:bob * DESCRIBE ALLOW",
            "CLUSTER kafka-cluster LITERAL User:bob * IDEMPOTENT_WRITE ALLOW",
        ]),
        "--producer --idempotent as kafka-acls.sh expands it"
    );
    tool(&[
        "--add",
        "--consumer",
        "--allow-principal",
        "User:carol",
        "--allow-host",
        "10.0.0.7",
        "--topic",
        "orders",
        "--group",
        "audit",
    ])
    .ok();
    assert_eq!(
        acls(tool(&["--list", "--principal", "User:carol", "--output", "json"]).ok()),
        set(&[
            "TOPIC orders LITERAL User:carol 10.0.0.7 READ ALLOW",
            "TOPIC orders LITERAL User:carol 10.0.0.7 DESCRIBE ALLOW",
            "GROUP audit LITERAL User:carol 10.0.0.7 READ ALLOW",
        ]),
        "--consumer as kafka-acls.sh expands it"
    );
    assert_eq!(
        acls(
            tool(&[
                "--list",
                "--topic",
                "pay-orders",
                "--resource-pattern-type",
                "match",
                "--json"
            ])
            .ok()
        ),
        set(&[
            "TOPIC pay- PREFIXED User:bob * WRITE ALLOW",
            "TOPIC pay- PREFIXED User:bob * DESCRIBE ALLOW",
            "TOPIC pay- PREFIXED User:bob * CREATE ALLOW",
        ]),
        "match: the ACLs that apply to a name"
    );

    let remove_read = [
        "--remove",
        "--topic",
        "orders",
        "--allow-principal",
        "User:alice",
        "--operation",
        "READ",
    ];
    let refused = tool(&remove_read);
    assert_eq!(refused.code, Some(1), "no --force and no terminal: refuse");
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--force")
            && refused
                .stderr
                .contains("Are you sure you want to remove ACLs:"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        acls(tool(&["--list", "--topic", "orders", "--json"]).ok()).len(),
        4
    );
    let removed = tool(&[&remove_read[..], &["--force"]].concat());
    assert!(
        removed.ok().starts_with("Removed 1 ACL:\n"),
        "{}",
        removed.stdout
    );
    assert_eq!(
        acls(tool(&["--list", "--principal", "User:alice", "--json"]).ok()),
        set(&["TOPIC orders LITERAL User:alice * DESCRIBE ALLOW"])
    );
    let everything = tool(&["--remove", "--topic", "orders", "--yes", "--json"]);
    assert_eq!(
        acls(everything.ok()),
        set(&[
            "TOPIC orders LITERAL User:alice * DESCRIBE ALLOW",
            "TOPIC orders LITERAL User:carol 10.0.0.7 READ ALLOW",
            "TOPIC orders LITERAL User:carol 10.0.0.7 DESCRIBE ALLOW",
        ]),
        "without a principal, every ACL of the resource"
    );
    assert_eq!(tool(&["--list", "--topic", "orders"]).ok(), "No ACLs.\n");
    assert_eq!(
        acls(tool(&["--list", "--json"]).ok()).len(),
        7,
        "bob's and carol's group ACL stay"
    );
}

#[test]
fn mistakes_are_one_line_and_exit_2() {
    // Refused before connecting: no broker is needed.
    let tool = |args: &[&str]| run_tool(BIN, "127.0.0.1:1", args, b"");
    for (args, why) in [
        (
            &[
                "--add",
                "--allow-principal",
                "User:a",
                "--operation",
                "Reed",
                "--topic",
                "t",
            ][..],
            "unknown operation 'Reed'",
        ),
        (
            &[
                "--add",
                "--allow-principal",
                "User:a",
                "--operation",
                "Write",
                "--group",
                "g",
            ][..],
            "ResourceType GROUP only supports operations READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL",
        ),
        (&["--add", "--topic", "t"][..], "--allow-principal"),
        (
            &["--add", "--allow-principal", "alice", "--topic", "t"][..],
            "invalid principal 'alice'",
        ),
        (
            &[
                "--add",
                "--consumer",
                "--allow-principal",
                "User:a",
                "--topic",
                "t",
            ][..],
            "--group",
        ),
        (
            &[
                "--add",
                "--allow-principal",
                "User:a",
                "--topic",
                "t",
                "--resource-pattern-type",
                "match",
            ][..],
            "not valid when adding",
        ),
        (&["--list", "--remove"][..], "cannot be used with"),
        (&["--topic", "t"][..], "required"),
    ] {
        let refused = tool(args);
        assert_eq!(refused.code, Some(2), "{args:?}: {}", refused.stderr);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(
            refused.stderr.starts_with("acl-admin: "),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains(why), "{args:?}: {}", refused.stderr);
    }
}

#[test]
fn a_broker_without_an_authorizer_says_so_in_one_line() {
    // librdkafka drops DescribeAcls's error code: without the check over
    // the tools' own connection this printed "No ACLs." and exited 0.
    let broker = BrokerProcess::start(&[]);
    let listed = run_tool(BIN, &broker.bootstrap(), &["--list"], b"");
    assert_eq!(listed.code, Some(1), "{}", listed.stdout);
    assert_eq!(listed.stderr.lines().count(), 1, "{}", listed.stderr);
    assert!(
        listed.stderr.contains("SecurityDisabled"),
        "{}",
        listed.stderr
    );
    let added = run_tool(
        BIN,
        &broker.bootstrap(),
        &["--add", "--allow-principal", "User:a", "--topic", "t"],
        b"",
    );
    assert_eq!(added.code, Some(1), "{}", added.stdout);
    assert_eq!(added.stderr.lines().count(), 1, "{}", added.stderr);
    assert!(
        added.stderr.contains("SecurityDisabled"),
        "{}",
        added.stderr
    );
}

const CONFIG_ADMIN: &str = env!("CARGO_BIN_EXE_config-admin");
const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");
const PRODUCER: &str = env!("CARGO_BIN_EXE_console-producer");

/// README's worked example on SASL_PLAINTEXT: a SCRAM user made with
/// config-admin and granted --producer with acl-admin writes to its topic
/// and to no other.
#[test]
fn a_scram_user_granted_producer_acls_writes_to_its_topic_only() {
    let broker = BrokerProcess::start(&[
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-512=[name=admin,password=admin-secret]",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:admin",
    ]);
    let bs = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let properties = |name: &str, user: &str, password: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n\
                 sasl.username={user}\nsasl.password={password}\n"
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    };
    let admin = properties("admin.properties", "admin", "admin-secret");
    let app = properties("client.properties", "app", "app-secret");
    let password_file = dir.path().join("app.pw");
    std::fs::write(&password_file, "app-secret\n").unwrap();
    let with = |bin: &str, config: &str, args: &[&str], stdin: &[u8]| {
        run_tool(
            bin,
            &bs,
            &[&["--command-config", config][..], args].concat(),
            stdin,
        )
    };

    for topic in ["orders", "payroll"] {
        with(TOPIC_ADMIN, &admin, &["create", "--topic", topic], b"").ok();
    }
    with(
        CONFIG_ADMIN,
        &admin,
        &[
            "--alter",
            "--user",
            "app",
            "--add-config",
            "SCRAM-SHA-512=[iterations=8192]",
            "--password-file",
            password_file.to_str().unwrap(),
        ],
        b"",
    )
    .ok();
    with(
        BIN,
        &admin,
        &[
            "--add",
            "--producer",
            "--allow-principal",
            "User:app",
            "--topic",
            "orders",
        ],
        b"",
    )
    .ok();

    let sent = with(PRODUCER, &app, &["--topic", "orders"], b"hello\n");
    sent.ok();
    assert!(
        sent.stderr.contains("Sent 1 records (0 failed)"),
        "{}",
        sent.stderr
    );
    let refused = with(
        PRODUCER,
        &app,
        &["--topic", "payroll", "-X", "message.timeout.ms=5000"],
        b"hello\n",
    );
    assert_ne!(refused.code, Some(0), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("uthorization"),
        "Kafka's TOPIC_AUTHORIZATION_FAILED: {}",
        refused.stderr
    );
    let listed = with(BIN, &app, &["--list"], b"");
    assert_eq!(
        listed.code,
        Some(1),
        "app may not describe ACLs: {}",
        listed.stdout
    );
    assert!(
        listed.stderr.contains("ClusterAuthorizationFailed"),
        "{}",
        listed.stderr
    );
}

/// kafka-acls.sh's --user-principal and --delegation-token: USER and
/// DELEGATION_TOKEN resources, which librdkafka cannot name, are added,
/// listed and removed over the tool's own connection, beside a topic ACL
/// that goes through librdkafka; their operations are checked.
#[test]
fn user_and_delegation_token_resources_are_added_listed_and_removed() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    let tool = |args: &[&str]| run_tool(BIN, &bs, args, b"");
    let added = tool(&[
        "--add",
        "--allow-principal",
        "User:admin",
        "--operation",
        "CreateTokens",
        "--operation",
        "DescribeTokens",
        "--user-principal",
        "User:alice",
    ]);
    assert!(added.ok().starts_with("Added 2 ACLs:\n"), "{}", added.ok());
    tool(&[
        "--add",
        "--allow-principal",
        "User:admin",
        "--operation",
        "Describe",
        "--delegation-token",
        "token-1",
        "--topic",
        "orders",
    ])
    .ok();
    let users = set(&[
        "USER User:alice LITERAL User:admin * CREATE_TOKENS ALLOW",
        "USER User:alice LITERAL User:admin * DESCRIBE_TOKENS ALLOW",
    ]);
    assert_eq!(
        acls(tool(&["--list", "--json", "--user-principal", "User:alice"]).ok()),
        users
    );
    let mut everything = users.clone();
    everything.extend(set(&[
        "DELEGATION_TOKEN token-1 LITERAL User:admin * DESCRIBE ALLOW",
        "TOPIC orders LITERAL User:admin * DESCRIBE ALLOW",
    ]));
    assert_eq!(acls(tool(&["--list", "--json"]).ok()), everything);
    // Kafka's operations per resource type.
    let refused = tool(&[
        "--add",
        "--allow-principal",
        "User:admin",
        "--operation",
        "Read",
        "--user-principal",
        "User:alice",
    ]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "ResourceType USER only supports operations CREATE_TOKENS, DESCRIBE_TOKENS, ALL"
        ),
        "{}",
        refused.stderr
    );
    let removed = tool(&[
        "--remove",
        "--force",
        "--user-principal",
        "User:alice",
        "--delegation-token",
        "token-1",
    ]);
    removed.ok();
    assert_eq!(
        acls(tool(&["--list", "--json"]).ok()),
        set(&["TOPIC orders LITERAL User:admin * DESCRIBE ALLOW"])
    );
}
