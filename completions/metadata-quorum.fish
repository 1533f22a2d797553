# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_metadata_quorum_global_optspecs
    string join \n bootstrap-server= X= command-config= timeout= bootstrap-controller= h/help V/version
end

function __fish_metadata_quorum_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_metadata_quorum_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_metadata_quorum_using_subcommand
    set -l cmd (__fish_metadata_quorum_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -l bootstrap-controller -d 'Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919)' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -s h -l help -d 'Print help'
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -s V -l version -d 'Print version'
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -f -a "describe" -d 'Describe the quorum: its status (leader, epoch, high watermark, voters, observers) or each replica\'s progress'
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -f -a "add-controller" -d 'Make an observer (a node started with process.roles=broker) a voter of the quorum'
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -f -a "remove-controller" -d 'Make a voter an observer: it stops voting and keeps receiving the metadata log'
complete -c metadata-quorum -n "__fish_metadata_quorum_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l bootstrap-controller -d 'Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919)' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l status -d 'The leader, its epoch, the high watermark, the largest follower lag, the voters and observers'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l replication -d 'Each replica\'s log end offset, lag, last fetch and last caught-up time'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -l human-readable -d 'Times as how long ago they were instead of epoch milliseconds'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand describe" -s V -l version -d 'Print version'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -l controller-id -d 'The node to add; it must already receive the metadata log as an observer' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -l bootstrap-controller -d 'Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919)' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -s h -l help -d 'Print help'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand add-controller" -s V -l version -d 'Print version'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -l controller-id -d 'The voter to remove' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -l bootstrap-controller -d 'Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919)' -r
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -s h -l help -d 'Print help'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand remove-controller" -s V -l version -d 'Print version'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand help; and not __fish_seen_subcommand_from describe add-controller remove-controller help" -f -a "describe" -d 'Describe the quorum: its status (leader, epoch, high watermark, voters, observers) or each replica\'s progress'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand help; and not __fish_seen_subcommand_from describe add-controller remove-controller help" -f -a "add-controller" -d 'Make an observer (a node started with process.roles=broker) a voter of the quorum'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand help; and not __fish_seen_subcommand_from describe add-controller remove-controller help" -f -a "remove-controller" -d 'Make a voter an observer: it stops voting and keeps receiving the metadata log'
complete -c metadata-quorum -n "__fish_metadata_quorum_using_subcommand help; and not __fish_seen_subcommand_from describe add-controller remove-controller help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
