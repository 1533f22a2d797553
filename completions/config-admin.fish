complete -c config-admin -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c config-admin -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c config-admin -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c config-admin -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c config-admin -l bootstrap-controller -d 'Ask the controllers at their CONTROLLER listener, HOST:PORT[,HOST:PORT...], instead of a broker (KIP-919)' -r
complete -c config-admin -l entity-type -d 'The kind of entity' -r -f -a "topics\t''
brokers\t''
users\t''
clients\t'Client ids (quotas)'
ips\t'Client IP addresses (connection_creation_rate quotas)'
client-metrics\t'Client metrics subscriptions (KIP-714): metrics, interval.ms, match'"
complete -c config-admin -l entity-name -d 'The entity: a topic name, a broker id, a user name, a client id, an IP address or a client metrics subscription' -r
complete -c config-admin -l topic -d 'Short for --entity-type topics --entity-name TOPIC' -r -f -a '(__gregor_names config-admin topics)'
complete -c config-admin -l broker -d 'Short for --entity-type brokers --entity-name ID' -r
complete -c config-admin -l user -d 'Short for --entity-type users --entity-name USER' -r
complete -c config-admin -l client -d 'Short for --entity-type clients --entity-name CLIENT_ID; with a user, that user\'s client id' -r
complete -c config-admin -l ip -d 'Short for --entity-type ips --entity-name IP: a client address\'s connection_creation_rate' -r
complete -c config-admin -l add-config -d 'Configs to set, as k1=v1,k2=[v1,v2] (square brackets around a value with commas); for users SCRAM-SHA-256=[iterations=8192,password=SECRET] and SCRAM-SHA-512=[...]' -r
complete -c config-admin -l add-config-file -d 'A properties file of configs to set' -r -F
complete -c config-admin -l delete-config -d 'Configs to remove, comma-separated (for users: SCRAM-SHA-256, SCRAM-SHA-512)' -r
complete -c config-admin -l password-file -d 'For SCRAM credentials, read the password from FILE (its first line) rather than asking' -r -F
complete -c config-admin -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c config-admin -l describe -d 'Show the configs of the entity, or of every entity of the type when none is named'
complete -c config-admin -l alter -d 'Change the configs of one entity'
complete -c config-admin -l entity-default -d 'The cluster-wide default of brokers, users, client ids or IP addresses'
complete -c config-admin -l broker-defaults -d 'Short for --entity-type brokers --entity-default'
complete -c config-admin -l user-defaults -d 'Short for --entity-type users --entity-default (quotas)'
complete -c config-admin -l client-defaults -d 'Short for --entity-type clients --entity-default; with a user, that user\'s default client id'
complete -c config-admin -l ip-defaults -d 'Short for --entity-type ips --entity-default'
complete -c config-admin -l all -d 'With --describe, every config (defaults too), each with the levels that give it a value'
complete -c config-admin -l json -d 'Short for --output json'
complete -c config-admin -s h -l help -d 'Print help (see more with \'--help\')'
complete -c config-admin -s V -l version -d 'Print version'

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
