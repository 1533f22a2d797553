complete -c topic-export -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c topic-export -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c topic-export -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c topic-export -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c topic-export -s t -l topic -d 'The topic to export' -r -f -a '(__gregor_names topic-export topics)'
complete -c topic-export -l to -d 'The directory to write to; a rerun with the same one resumes' -r -F
complete -c topic-export -l format -d 'The file format (docs/export-format.md)' -r -f -a "jsonl\t'One JSON object per line; bytes that are not UTF-8 in base64'
csv\t'A header row, then one row per record; headers as a JSON array'
raw\t'Length-prefixed binary records with a CRC (docs/export-format.md)'
parquet\t'Apache Parquet, snappy-compressed columns (docs/export-format.md)'"
complete -c topic-export -s g -l group -d 'The consumer group whose offsets track the export [default: topic-export-<TOPIC>]' -r -f -a '(__gregor_names topic-export groups)'
complete -c topic-export -l from -d 'Where a partition the export has not started starts: earliest, latest, N, -N (N before the end), @TIMESTAMP (epoch ms or RFC 3339) or @-DURATION (e.g. @-1h)' -r
complete -c topic-export -l until -d 'Where to stop: latest (the end when the export starts), an offset N (exclusive), @TIMESTAMP or @-DURATION (before the first record at or after that time)' -r
complete -c topic-export -l max-records -d 'Stop after writing this many records' -r
complete -c topic-export -l roll-records -d 'Start a new file after this many records' -r
complete -c topic-export -l roll-bytes -d 'Start a new file once one reaches this many bytes' -r
complete -c topic-export -l partition-by -d 'One directory per partition, or per hour or day of the record timestamps (UTC)' -r -f -a "partition\t'partition-N/, one per partition'
hour\t'YYYY-MM-DDTHH/ of the record\'s timestamp, in UTC'
day\t'YYYY-MM-DD/ of the record\'s timestamp, in UTC'"
complete -c topic-export -l transform -d 'Run each record through this WebAssembly transform (docs/plugins.md); repeatable, applied in order' -r -F
complete -c topic-export -l on-error -d 'What a record a transform fails on becomes: fail (stop with the error), skip (left out, counted), or dead-letter TOPIC (the original record written to TOPIC with headers saying why)' -r
complete -c topic-export -l transform-fuel -d 'The fuel (about one WebAssembly instruction each) a transform may spend on one record before it is stopped as a runaway' -r
complete -c topic-export -l value-format -d 'Parquet only: keep values as bytes, or split flat JSON objects into one column per field (from --value-schema, or inferred from the first 1000 records); a value that does not fit goes to value_raw' -r -f -a "bytes\t'The bytes as they are, in one `value` column'
json\t'A flat JSON object, one column per field'"
complete -c topic-export -l value-schema -d 'With --value-format json: the value columns, as {"fields": [{"name": ..., "type": string|int64|double|boolean|json}]}' -r -F
complete -c topic-export -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topic-export -s V -l version -d 'Print version'

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
