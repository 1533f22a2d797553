//! Flags that Kafka's shell scripts take and Gregor's tools spell another
//! way: a user typing from habit is told the Gregor way in one line
//! instead of only "unexpected argument".

/// The pointer for the first Kafka-habit flag in `args`, if any, for the
/// tool named `tool` whose subcommands are `subcommands` (a Kafka action
/// flag points to the subcommand only where there is one: acl-admin takes
/// --list itself, as kafka-acls.sh does).
pub fn pointer(tool: &str, subcommands: &[&str], args: &[String]) -> Option<String> {
    args.iter().find_map(|arg| {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        let hint = match flag {
            "--create" | "--list" | "--describe" | "--delete" | "--alter"
                if subcommands.contains(&&flag[2..]) =>
            {
                let command = &flag[2..];
                format!("Kafka's {flag} is a subcommand here: {tool} {command} ...")
            }
            "--broker-list" | "--bootstrap-servers" => {
                "use --bootstrap-server HOST:PORT (or $GREGOR_BOOTSTRAP)".to_string()
            }
            "--zookeeper" => "there is no ZooKeeper: use --bootstrap-server HOST:PORT".to_string(),
            "--producer-property" | "--consumer-property" | "--property-config" => {
                format!("{flag} KEY=VALUE is -X KEY=VALUE here (any librdkafka property)")
            }
            "--producer.config" | "--consumer.config" | "--admin.config" | "--config-file" => {
                format!("{flag} FILE is --command-config FILE here")
            }
            "--offsets" => {
                format!("{tool} describe shows offsets and lag without --offsets")
            }
            _ => return None,
        };
        Some(hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kafka_flags_get_the_gregor_way() {
        assert_eq!(
            pointer(
                "topic-admin",
                &["create"],
                &args(&["--create", "--topic", "t"])
            )
            .as_deref(),
            Some("Kafka's --create is a subcommand here: topic-admin create ...")
        );
        assert_eq!(
            pointer(
                "console-producer",
                &[],
                &args(&["-t", "t", "--broker-list", "h:1"])
            )
            .as_deref(),
            Some("use --bootstrap-server HOST:PORT (or $GREGOR_BOOTSTRAP)")
        );
        assert_eq!(
            pointer(
                "console-producer",
                &[],
                &args(&["--producer-property=acks=all"])
            )
            .as_deref(),
            Some("--producer-property KEY=VALUE is -X KEY=VALUE here (any librdkafka property)")
        );
        assert!(pointer(
            "topic-admin",
            &["create"],
            &args(&["create", "--topic", "t"])
        )
        .is_none());
        assert!(pointer("acl-admin", &[], &args(&["--list", "--remove"])).is_none());
    }
}
