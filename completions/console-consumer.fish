complete -c console-consumer -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c console-consumer -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c console-consumer -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c console-consumer -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c console-consumer -s t -l topic -d 'The topic to read' -r -f -a '(__gregor_names console-consumer topics)'
complete -c console-consumer -l include -d 'Read every topic whose whole name matches this regular expression' -r
complete -c console-consumer -s g -l group -d 'Read as a member of this consumer group, committing what was printed' -r -f -a '(__gregor_names console-consumer groups)'
complete -c console-consumer -l share-group -d 'Read as a member of this share group (KIP-932), acknowledging each record as it is printed' -r -f -a '(__gregor_names console-consumer groups)'
complete -c console-consumer -l partition -d 'Read only this partition' -r
complete -c console-consumer -l offset -d 'Where to start: earliest, latest, N, -N (N before the end), @TIMESTAMP (epoch ms or RFC 3339) or @-DURATION (e.g. @-10m)' -r
complete -c console-consumer -l until -d 'Stop at the first record at or after this time (@TIMESTAMP or @-DURATION)' -r
complete -c console-consumer -l max-messages -d 'Stop after printing this many records' -r
complete -c console-consumer -l timeout-ms -d 'Stop when no record arrives for this long' -r
complete -c console-consumer -l isolation-level -d 'read_committed hides records of aborted and open transactions' -r -f -a "read_uncommitted\t''
read_committed\t''"
complete -c console-consumer -l property -d 'How records are printed, as Kafka\'s console consumer: print.key, print.timestamp, print.partition, print.offset, print.headers, print.value, key.separator, line.separator, headers.separator, headers.key.separator, null.literal. Repeatable' -r
complete -c console-consumer -l key-deserializer -d 'How keys are read, as console-producer\'s --key-serializer wrote them' -r -f -a "string\t'The line\'s bytes as they are (UTF-8 text or not)'
int\t'A 32-bit integer, 4 bytes big-endian (Java\'s IntegerSerializer)'
long\t'A 64-bit integer, 8 bytes big-endian (Java\'s LongSerializer)'
double\t'A 64-bit float, 8 bytes IEEE 754 big-endian (Java\'s DoubleSerializer)'
hex\t'Bytes written as hexadecimal digits'
base64\t'Bytes written in standard base64'
json\t'A JSON document, checked and sent as written'"
complete -c console-consumer -l value-deserializer -d 'How values are read, as console-producer\'s --value-serializer wrote them' -r -f -a "string\t'The line\'s bytes as they are (UTF-8 text or not)'
int\t'A 32-bit integer, 4 bytes big-endian (Java\'s IntegerSerializer)'
long\t'A 64-bit integer, 8 bytes big-endian (Java\'s LongSerializer)'
double\t'A 64-bit float, 8 bytes IEEE 754 big-endian (Java\'s DoubleSerializer)'
hex\t'Bytes written as hexadecimal digits'
base64\t'Bytes written in standard base64'
json\t'A JSON document, checked and sent as written'"
complete -c console-consumer -l format -d 'text (as Kafka\'s console consumer) or json (one object per record; bytes that are not UTF-8 in base64)' -r -f -a "text\t''
json\t''"
complete -c console-consumer -l transform -d 'Run each record through this WebAssembly transform (docs/plugins.md); repeatable, applied in order' -r -F
complete -c console-consumer -l on-error -d 'What a record a transform fails on becomes: fail (stop with the error), skip (left out, counted), or dead-letter TOPIC (the original record written to TOPIC with headers saying why)' -r
complete -c console-consumer -l transform-fuel -d 'The fuel (about one WebAssembly instruction each) a transform may spend on one record before it is stopped as a runaway' -r
complete -c console-consumer -l from-beginning -d 'Start at the earliest record rather than the next new one'
complete -c console-consumer -l reject-on-error -d 'With --share-group: REJECT a record that cannot be read rather than stop'
complete -c console-consumer -l release -d 'With --share-group: RELEASE every record printed, which is then delivered again (a look that consumes nothing)'
complete -c console-consumer -s h -l help -d 'Print help (see more with \'--help\')'
complete -c console-consumer -s V -l version -d 'Print version'

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
