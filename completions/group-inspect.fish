# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_group_inspect_global_optspecs
    string join \n bootstrap-server= X= command-config= timeout= h/help V/version
end

function __fish_group_inspect_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_group_inspect_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_group_inspect_using_subcommand
    set -l cmd (__fish_group_inspect_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c group-inspect -n "__fish_group_inspect_needs_command" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_needs_command" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_needs_command" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_needs_command" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_needs_command" -s h -l help -d 'Print help'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "list" -d 'List consumer groups with their type and state'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "describe" -d 'Describe groups: lag per partition and its age (the default), the members, or the state'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "reset-offsets" -d 'Move a group\'s committed offsets; only a dry run unless --execute'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "delete" -d 'Delete groups with their committed offsets; a group with members is refused'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "delete-offsets" -d 'Delete a group\'s committed offsets for topics it no longer reads'
complete -c group-inspect -n "__fish_group_inspect_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l state -d 'Only groups in this state (Stable, Empty, PreparingRebalance ...), repeatable' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l type -d 'Only groups of this protocol' -r -f -a "classic\t'Groups of the JoinGroup/SyncGroup protocol'
consumer\t'Groups of KIP-848\'s consumer protocol'
share\t'Share groups (KIP-932\'s queues)'"
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand list" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -s g -l group -d 'The group to describe, repeatable' -r -f -a '(__gregor_names group-inspect groups)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l watch -d 'Redraw every SECONDS seconds until interrupted' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l all-groups -d 'Describe every group'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l members -d 'Show the members and how many partitions each has'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -l state -d 'Show the state, coordinator, assignor and member count'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand describe" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -s g -l group -d 'The group whose offsets move; it must have no members' -r -f -a '(__gregor_names group-inspect groups)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -s t -l topic -d 'A topic, or some of its partitions: TOPIC or TOPIC:0,1,2; repeatable' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l to-offset -d 'To this offset, kept within the log\'s range' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l to-datetime -d 'To the first record at or after this time: epoch ms or YYYY-MM-DDTHH:MM:SS[.sss][Z], in UTC' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l shift-by -d 'By this many records from the committed offset, back when negative' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l by-duration -d 'To the first record at most this long ago: PT10M, P1DT2H or 10m' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l from-file -d 'To the offsets of a CSV file (topic,partition,offset lines, as --export writes them), for the partitions it names' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l all-topics -d 'Every topic the group has committed offsets for'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l to-earliest -d 'To the log start offset'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l to-latest -d 'To the log end offset'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l to-current -d 'To the committed offset (the end where none is committed)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l dry-run -d 'Show the new offsets without committing them (the default)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l execute -d 'Commit the new offsets'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -l export -d 'Print the new offsets as CSV (topic,partition,offset), for --from-file later'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand reset-offsets" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -s g -l group -d 'The group to delete, repeatable' -r -f -a '(__gregor_names group-inspect groups)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -s h -l help -d 'Print help'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s g -l group -d 'The group whose offsets go' -r -f -a '(__gregor_names group-inspect groups)'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s t -l topic -d 'A topic, or some of its partitions: TOPIC or TOPIC:0,1,2; repeatable' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s y -l yes -d 'Do not ask for confirmation'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s h -l help -d 'Print help'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand delete-offsets" -s V -l version -d 'Print version'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "list" -d 'List consumer groups with their type and state'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "describe" -d 'Describe groups: lag per partition and its age (the default), the members, or the state'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "reset-offsets" -d 'Move a group\'s committed offsets; only a dry run unless --execute'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "delete" -d 'Delete groups with their committed offsets; a group with members is refused'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "delete-offsets" -d 'Delete a group\'s committed offsets for topics it no longer reads'
complete -c group-inspect -n "__fish_group_inspect_using_subcommand help; and not __fish_seen_subcommand_from list describe reset-offsets delete delete-offsets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

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
