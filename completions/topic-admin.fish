# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_topic_admin_global_optspecs
    string join \n bootstrap-server= X= command-config= timeout= h/help V/version
end

function __fish_topic_admin_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_topic_admin_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_topic_admin_using_subcommand
    set -l cmd (__fish_topic_admin_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c topic-admin -n "__fish_topic_admin_needs_command" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_needs_command" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_needs_command" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_needs_command" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_needs_command" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "create" -d 'Create a topic'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "list" -d 'List topic names'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "describe" -d 'Describe topics: partitions, leaders, replicas, in-sync replicas, replicas being added and removed by a reassignment, and configs that differ from the defaults'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "offsets" -d 'Show partitions\' offsets, as kafka-get-offsets.sh and kcat -Q do: the log start, the log end, or where records of a time begin (ListOffsets)'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "delete-records" -d 'Delete the records of partitions before an offset, as kafka-delete-records.sh (DeleteRecords): the log start offset moves up to it'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "cluster" -d 'Show the cluster, as rpk cluster info does: its id and its brokers (id, host:port, rack), marking the controller'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "alter" -d 'Grow a topic\'s partitions, or set or delete its configs'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "delete" -d 'Delete topics and all their records'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "reassign" -d 'Move partitions between brokers: propose a balanced plan, carry one out and follow it, check, cancel or list moves'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "elect-leaders" -d 'Elect partition leaders: the preferred replica, or for partitions without a leader any live one'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "describe-producers" -d 'Show the producers a partition keeps state for, as kafka-transactions.sh describe-producers does: epoch, last sequence and timestamp, and where an open transaction started'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "abort-transaction" -d 'Abort a hanging transaction in one partition, as kafka-transactions.sh abort does'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s t -l topic -d 'The topic\'s name' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l partitions -d 'Number of partitions; the broker\'s num.partitions when left out' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l replication-factor -d 'Copies of each partition; the broker\'s default.replication.factor when left out' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l config -d 'A topic config, repeatable: --config retention.ms=86400000' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l if-not-exists -d 'Succeed without change when the topic already exists'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l exclude-internal -d 'Leave out internal topics such as __consumer_offsets'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s t -l topic -d 'The topics to describe: a name or a regular expression matching whole names; all when left out' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l under-replicated-partitions -d 'Only partitions with fewer in-sync replicas than replicas'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l unavailable-partitions -d 'Only partitions without a leader'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l exclude-internal -d 'Leave out internal topics such as __consumer_offsets'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l log-dirs -d 'Instead, as kafka-log-dirs.sh: per broker and log directory, each replica\'s size on disk, offset lag and whether it is a future replica (DescribeLogDirs to every broker)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l all-configs -d 'Every config of each topic with its value and where the value comes from (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG...), as kafka-configs.sh --describe --all'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -s t -l topic -d 'The topics: a name or a regular expression matching whole names; all when left out' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l partitions -d 'Only these partitions, comma separated' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l time -d 'earliest (-2), latest (-1), max-timestamp (-3), or a time in epoch milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -l exclude-internal -d 'Leave out internal topics such as __consumer_offsets'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand offsets" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -s t -l topic -d 'The topic whose records go' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l partition -d 'The partition of --topic' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l offset -d 'Records before this offset go; -1: all of them' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l offset-json-file -d 'The partitions and offsets in kafka-delete-records.sh\'s JSON' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -s y -l yes -d 'Do not ask for confirmation'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete-records" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -l configs -d 'Also every config of each broker, with its source'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand cluster" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s t -l topic -d 'The topic to change' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l partitions -d 'The new number of partitions (partitions can only be added)' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l config -d 'Set a topic config, repeatable' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l delete-config -d 'Remove a topic config override, repeatable, so the default applies again' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s t -l topic -d 'The topics to delete, repeatable: names, or regular expressions matching whole names (internal topics only by their exact name)' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l if-exists -d 'Succeed when a topic does not exist'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l topics -d 'The topics --generate places, comma-separated' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l topics-to-move-json-file -d 'The topics --generate places, in Kafka\'s format: {"topics":[{"topic":"orders"}],"version":1}' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l broker-list -d 'The brokers --generate spreads the topics over, comma-separated ids' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l reassignment-json-file -d 'The plan to --execute, --verify or --cancel, in Kafka\'s format: {"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[1,2,3]}]}' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l output-file -d 'Also write the plan --generate proposes to FILE, ready for --execute' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l throttle -d 'Throttle the moves to this many bytes per second, as Kafka\'s tool: the replicas each partition moves from are throttled as leaders, those it moves to as followers (the topics\' leader/follower.replication.throttled.replicas), and every broker involved gets the rate as its leader and follower.replication.throttled.rate. Replicas in the ISR are never held back. The throttles stay until --verify finds every partition in place; rerun --execute --additional with another value to change the rate' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l generate -d 'Propose a plan that spreads the topics\' replicas and preferred leaders evenly over --broker-list, moving as few as possible, and print it with the current assignment to roll back to'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l execute -d 'Start the moves of --reassignment-json-file, then follow them until every partition is in place'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l verify -d 'Show whether each partition of --reassignment-json-file is in place, still moving, or elsewhere; exit 1 unless all are in place'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l cancel -d 'Stop the moves of the partitions of --reassignment-json-file; they go back to the replicas they had before'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l list -d 'List the partitions moving now, with the replicas they gain and lose'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l no-wait -d 'Start the moves and return without following them (check them with --verify)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l additional -d 'Start the moves even while other partitions are moving'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -l preserve-throttles -d 'Keep the throttles when --verify finds every partition in place (by default it removes them from every broker and the plan\'s topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand reassign" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l election-type -d 'Which replica may become the leader' -r -f -a "preferred\t'The first replica, if it is alive and in sync'
unclean\t'Any live replica of a partition without an in-sync one, at the risk of losing acknowledged records'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -s t -l topic -d 'The topic whose partitions elect, all of them unless --partition' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l path-to-json-file -d 'The partitions in Kafka\'s format, {"partitions":[{"topic":"orders","partition":0}]}; a reassignment plan will do' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l partition -d 'Only this partition of --topic' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -l all-topic-partitions -d 'Every partition of every topic that needs it'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand elect-leaders" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -s t -l topic -d 'The topic of the partition' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -l partition -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe-producers" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -s t -l topic -d 'The topic of the partition the transaction holds back' -r -f -a '(__gregor_names topic-admin topics)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l partition -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l start-offset -d 'The offset where the transaction\'s first record in the partition is' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l producer-id -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l producer-epoch -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l coordinator-epoch -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand abort-transaction" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "create" -d 'Create a topic'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "list" -d 'List topic names'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "describe" -d 'Describe topics: partitions, leaders, replicas, in-sync replicas, replicas being added and removed by a reassignment, and configs that differ from the defaults'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "offsets" -d 'Show partitions\' offsets, as kafka-get-offsets.sh and kcat -Q do: the log start, the log end, or where records of a time begin (ListOffsets)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "delete-records" -d 'Delete the records of partitions before an offset, as kafka-delete-records.sh (DeleteRecords): the log start offset moves up to it'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "cluster" -d 'Show the cluster, as rpk cluster info does: its id and its brokers (id, host:port, rack), marking the controller'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "alter" -d 'Grow a topic\'s partitions, or set or delete its configs'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "delete" -d 'Delete topics and all their records'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "reassign" -d 'Move partitions between brokers: propose a balanced plan, carry one out and follow it, check, cancel or list moves'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "elect-leaders" -d 'Elect partition leaders: the preferred replica, or for partitions without a leader any live one'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "describe-producers" -d 'Show the producers a partition keeps state for, as kafka-transactions.sh describe-producers does: epoch, last sequence and timestamp, and where an open transaction started'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "abort-transaction" -d 'Abort a hanging transaction in one partition, as kafka-transactions.sh abort does'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe offsets delete-records cluster alter delete reassign elect-leaders describe-producers abort-transaction help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

# Names from the cluster the command line names (or GREGOR_BOOTSTRAP), from
# the tool itself; nothing when it cannot be reached.
function __gregor_names
    set -l words (commandline -opc)
    set -l bootstrap
    for i in (seq (count $words))
        if test "$words[$i]" = --bootstrap-server; and test $i -lt (count $words)
            set bootstrap --bootstrap-server $words[(math $i + 1)]
        end
    end
    env GREGOR_COMPLETE=$argv[2] $argv[1] $bootstrap 2>/dev/null
end
