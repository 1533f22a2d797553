complete -c topic-import -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-import -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-import -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-import -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-import -s t -l topic -d 'The topic to write to; it must exist' -r -f -a '(__gregor_names topic-import topics)'
complete -c topic-import -l from -d 'The files to read, in order' -r -F
complete -c topic-import -l format -d 'The file format (docs/export-format.md)' -r -f -a "jsonl\t'One JSON object per line; bytes that are not UTF-8 in base64'
csv\t'A header row, then one row per record; headers as a JSON array'
raw\t'Length-prefixed binary records with a CRC (docs/export-format.md)'
parquet\t'Apache Parquet, snappy-compressed columns (docs/export-format.md)'"
complete -c topic-import -l transactional-id -d 'The producer\'s transactional.id, which names the import for a rerun to resume [default: topic-import-<TOPIC>]' -r
complete -c topic-import -l chunk-records -d 'Records written in each transaction' -r
complete -c topic-import -l state-topic -d 'The compacted topic where each transaction records how far the import has got; created (one partition) if missing' -r -f -a '(__gregor_names topic-import topics)'
complete -c topic-import -l transform -d 'Run each record through this WebAssembly transform (docs/plugins.md); repeatable, applied in order' -r -F
complete -c topic-import -l on-error -d 'What a record a transform fails on becomes: fail (stop with the error), skip (left out, counted), or dead-letter TOPIC (the original record written to TOPIC with headers saying why)' -r
complete -c topic-import -l transform-fuel -d 'The fuel (about one WebAssembly instruction each) a transform may spend on one record before it is stopped as a runaway' -r
complete -c topic-import -l keep-partitions -d 'Write each record to the partition it came from when the topic has it, rather than where its key hashes to'
complete -c topic-import -l dry-run -d 'Read every file and report the records that cannot be read, as FILE:LINE: REASON, without connecting or writing'
complete -c topic-import -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-import -s V -l version -d 'Print version'

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
