# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_perf_test_global_optspecs
    string join \n bootstrap-server= X= command-config= timeout= h/help V/version
end

function __fish_perf_test_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_perf_test_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_perf_test_using_subcommand
    set -l cmd (__fish_perf_test_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c perf-test -n "__fish_perf_test_needs_command" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c perf-test -n "__fish_perf_test_needs_command" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c perf-test -n "__fish_perf_test_needs_command" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c perf-test -n "__fish_perf_test_needs_command" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c perf-test -n "__fish_perf_test_needs_command" -s h -l help -d 'Print help'
complete -c perf-test -n "__fish_perf_test_needs_command" -s V -l version -d 'Print version'
complete -c perf-test -n "__fish_perf_test_needs_command" -f -a "produce" -d 'Send fixed-size records as fast as allowed; report throughput and acknowledgement latency'
complete -c perf-test -n "__fish_perf_test_needs_command" -f -a "consume" -d 'Read records from the beginning of a topic; report throughput'
complete -c perf-test -n "__fish_perf_test_needs_command" -f -a "end-to-end" -d 'Produce at a fixed rate while consuming; report latency from send to arrival'
complete -c perf-test -n "__fish_perf_test_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -s t -l topic -d 'The topic to write to' -r -f -a '(__gregor_names perf-test topics)'
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l num-records -d 'How many records to send' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l record-size -d 'Size of each record\'s value in bytes' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l throughput -d 'Records per second at most; unlimited when left out' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l client -d 'Which client sends: librdkafka, or the tools\' own protocol client, which sends record batches built before the run so that it costs far less than the broker' -r -f -a "rdkafka\t'librdkafka, as every other tool'
wire\t'The tools\' own Kafka-protocol client: uncompressed batches built once, several requests in flight'"
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l connections -d 'Connections to each partition leader (--client wire)' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l max-in-flight -d 'Requests awaiting an answer on each connection at most (--client wire)' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l acks -d 'Acknowledgements to wait for: 0 (none), 1 (the leader) or all (every in-sync replica)' -r -f -a "0\t''
1\t''
all\t''
-1\t''"
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l compression -d 'Compression of record batches' -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l linger-ms -d 'How long to wait for more records before sending a batch' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l batch-size -d 'The largest batch to send, in bytes' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -l json -d 'Print one JSON object with the results instead of text'
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c perf-test -n "__fish_perf_test_using_subcommand produce" -s V -l version -d 'Print version'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -s t -l topic -d 'The topic to read' -r -f -a '(__gregor_names perf-test topics)'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l num-records -d 'How many records to read' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -s g -l group -d 'Read as a member of this group (committing as it goes) instead of from every partition directly' -r -f -a '(__gregor_names perf-test groups)'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l share-group -d 'Read as a member of this share group (KIP-932) with the tools\' own share consumer, accepting every record; it starts where the group\'s share.auto.offset.reset says' -r -f -a '(__gregor_names perf-test groups)'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l timeout-ms -d 'Stop when no record arrived for this long' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l client -d 'Which client reads: librdkafka, or the tools\' own protocol client, which fetches in a fetch session and counts records from their batches, so that it costs far less than the broker' -r -f -a "rdkafka\t'librdkafka, as every other tool'
wire\t'The tools\' own Kafka-protocol client: uncompressed batches built once, several requests in flight'"
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -l json -d 'Print one JSON object with the results instead of text'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c perf-test -n "__fish_perf_test_using_subcommand consume" -s V -l version -d 'Print version'
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -s t -l topic -d 'The topic to write to and read from' -r -f -a '(__gregor_names perf-test topics)'
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l rate -d 'Records per second, over all producers' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l duration -d 'How long to produce, in seconds' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l record-size -d 'Size of each record\'s value in bytes (at least 16: a run tag and the send time)' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l interval-ms -d 'Also report p50, p99 and max for each interval of this many milliseconds, by send time' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l client -d 'Which client produces: librdkafka, or the tools\' own protocol client, which holds --producers connections on one thread and also reports produce-ack latency' -r -f -a "rdkafka\t'librdkafka, as every other tool'
wire\t'The tools\' own Kafka-protocol client: uncompressed batches built once, several requests in flight'"
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l producers -d 'Producers, each its own connection sending --rate / N records per second (--client wire)' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l acks -d 'Acknowledgements to wait for: 0 (none), 1 (the leader) or all (every in-sync replica)' -r -f -a "0\t''
1\t''
all\t''
-1\t''"
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l compression -d 'Compression of record batches' -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l linger-ms -d 'How long to wait for more records before sending a batch' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l batch-size -d 'The largest batch to send, in bytes' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -l json -d 'Print one JSON object with the results instead of text'
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c perf-test -n "__fish_perf_test_using_subcommand end-to-end" -s V -l version -d 'Print version'
complete -c perf-test -n "__fish_perf_test_using_subcommand help; and not __fish_seen_subcommand_from produce consume end-to-end help" -f -a "produce" -d 'Send fixed-size records as fast as allowed; report throughput and acknowledgement latency'
complete -c perf-test -n "__fish_perf_test_using_subcommand help; and not __fish_seen_subcommand_from produce consume end-to-end help" -f -a "consume" -d 'Read records from the beginning of a topic; report throughput'
complete -c perf-test -n "__fish_perf_test_using_subcommand help; and not __fish_seen_subcommand_from produce consume end-to-end help" -f -a "end-to-end" -d 'Produce at a fixed rate while consuming; report latency from send to arrival'
complete -c perf-test -n "__fish_perf_test_using_subcommand help; and not __fish_seen_subcommand_from produce consume end-to-end help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

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
