complete -c console-producer -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c console-producer -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c console-producer -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c console-producer -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c console-producer -s t -l topic -d 'The topic to write to' -r -f -a '(__gregor_names console-producer topics)'
complete -c console-producer -l file -d 'Read lines from this file instead of standard input, with a progress bar' -r -F
complete -c console-producer -l property -d 'How lines are read, as Kafka\'s console producer: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error. Repeatable' -r
complete -c console-producer -l partition -d 'Write every record to this partition' -r
complete -c console-producer -l acks -d 'Acknowledgements to wait for: 0 (none), 1 (the leader) or all (every in-sync replica)' -r -f -a "0\t''
1\t''
all\t''
-1\t''"
complete -c console-producer -l compression -d 'Compression of record batches' -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c console-producer -l linger-ms -d 'How long to wait for more records before sending a batch' -r
complete -c console-producer -l batch-size -d 'The largest batch to send, in bytes' -r
complete -c console-producer -l key-serializer -d 'How keys are written' -r -f -a "string\t'The line\'s bytes as they are (UTF-8 text or not)'
int\t'A 32-bit integer, 4 bytes big-endian (Java\'s IntegerSerializer)'
long\t'A 64-bit integer, 8 bytes big-endian (Java\'s LongSerializer)'
double\t'A 64-bit float, 8 bytes IEEE 754 big-endian (Java\'s DoubleSerializer)'
hex\t'Bytes written as hexadecimal digits'
base64\t'Bytes written in standard base64'
json\t'A JSON document, checked and sent as written'"
complete -c console-producer -l value-serializer -d 'How values are written' -r -f -a "string\t'The line\'s bytes as they are (UTF-8 text or not)'
int\t'A 32-bit integer, 4 bytes big-endian (Java\'s IntegerSerializer)'
long\t'A 64-bit integer, 8 bytes big-endian (Java\'s LongSerializer)'
double\t'A 64-bit float, 8 bytes IEEE 754 big-endian (Java\'s DoubleSerializer)'
hex\t'Bytes written as hexadecimal digits'
base64\t'Bytes written in standard base64'
json\t'A JSON document, checked and sent as written'"
complete -c console-producer -l partitioner -d 'Which partition a record without --partition goes to' -r -f -a "murmur2\t'The Java client\'s: murmur2 of the key, so keys land where a Java producer puts them'
consistent_random\t'librdkafka\'s default: CRC32 of the key'
random\t'Any partition'
round-robin\t'Each partition in turn'"
complete -c console-producer -l filter -d 'Send only lines whose value matches this regular expression' -r
complete -c console-producer -l header -d 'Add this header to every record, repeatable' -r
complete -c console-producer -l transform -d 'Run each record through this WebAssembly transform (docs/plugins.md); repeatable, applied in order' -r -F
complete -c console-producer -l on-error -d 'What a record a transform fails on becomes: fail (stop with the error), skip (left out, counted), or dead-letter TOPIC (the original record written to TOPIC with headers saying why)' -r
complete -c console-producer -l transform-fuel -d 'The fuel (about one WebAssembly instruction each) a transform may spend on one record before it is stopped as a runaway' -r
complete -c console-producer -l sync -d 'Wait for each record\'s acknowledgement and print its partition and offset'
complete -c console-producer -l stats -d 'At the end, print records per partition and acknowledgement latency percentiles'
complete -c console-producer -s h -l help -d 'Print help (see more with \'--help\')'
complete -c console-producer -s V -l version -d 'Print version'

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
