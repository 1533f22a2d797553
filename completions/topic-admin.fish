# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_topic_admin_global_optspecs
    string join \n bootstrap-server= X= command-config= h/help V/version
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
complete -c topic-admin -n "__fish_topic_admin_needs_command" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "create" -d 'Create a topic'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "list" -d 'List topic names'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "describe" -d 'Describe topics: partitions, leaders, replicas, in-sync replicas and configs that differ from the defaults'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "alter" -d 'Grow a topic\'s partitions, or set or delete its configs'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "delete" -d 'Delete topics and all their records'
complete -c topic-admin -n "__fish_topic_admin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s t -l topic -d 'The topic\'s name' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l partitions -d 'Number of partitions; the broker\'s num.partitions when left out' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l replication-factor -d 'Copies of each partition; the broker\'s default.replication.factor when left out' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l config -d 'A topic config, repeatable: --config retention.ms=86400000' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -l if-not-exists -d 'Succeed without change when the topic already exists'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand create" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -l exclude-internal -d 'Leave out internal topics such as __consumer_offsets'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand list" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s t -l topic -d 'The topics to describe: a name or a regular expression matching whole names; all when left out' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l under-replicated-partitions -d 'Only partitions with fewer in-sync replicas than replicas'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l unavailable-partitions -d 'Only partitions without a leader'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -l exclude-internal -d 'Leave out internal topics such as __consumer_offsets'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand describe" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s t -l topic -d 'The topic to change' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l partitions -d 'The new number of partitions (partitions can only be added)' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l config -d 'Set a topic config, repeatable' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l delete-config -d 'Remove a topic config override, repeatable, so the default applies again' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand alter" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s t -l topic -d 'The topics to delete, repeatable' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -l if-exists -d 'Succeed when a topic does not exist'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s h -l help -d 'Print help'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand delete" -s V -l version -d 'Print version'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "create" -d 'Create a topic'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "list" -d 'List topic names'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "describe" -d 'Describe topics: partitions, leaders, replicas, in-sync replicas and configs that differ from the defaults'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "alter" -d 'Grow a topic\'s partitions, or set or delete its configs'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "delete" -d 'Delete topics and all their records'
complete -c topic-admin -n "__fish_topic_admin_using_subcommand help; and not __fish_seen_subcommand_from create list describe alter delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
