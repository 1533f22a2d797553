complete -c acl-admin -l bootstrap-server -d 'The cluster to connect to, as HOST:PORT[,HOST:PORT...]' -r
complete -c acl-admin -s X -d 'Any librdkafka client property, repeatable: -X security.protocol=SSL' -r
complete -c acl-admin -l command-config -d 'A properties file of client settings, applied before any -X' -r -F
complete -c acl-admin -l timeout -d 'How long to wait for the cluster to answer, in milliseconds' -r
complete -c acl-admin -l topic -d 'A topic, repeatable; \'*\' is every topic' -r -f -a '(__gregor_names acl-admin topics)'
complete -c acl-admin -l group -d 'A consumer group, repeatable; \'*\' is every group' -r -f -a '(__gregor_names acl-admin groups)'
complete -c acl-admin -l transactional-id -d 'A transactional id, repeatable; \'*\' is every transactional id' -r
complete -c acl-admin -l user-principal -d 'A user principal as the resource (Type:name), repeatable: CreateTokens and DescribeTokens are granted on it' -r
complete -c acl-admin -l delegation-token -d 'A delegation token id as the resource, repeatable; \'*\' is every token' -r
complete -c acl-admin -l resource-pattern-type -d 'How resource names match: literal or prefixed patterns; with --list and --remove also the filters any and match' -r -f -a "literal\t'The resource named exactly'
prefixed\t'Every resource whose name starts with the given one'
any\t'(filter) Any pattern type with exactly this name'
match\t'(filter) Every ACL that applies to this name: literal, wildcard and prefixed'"
complete -c acl-admin -l operation -d 'An operation to allow or deny, repeatable (All when left out): All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens; case-insensitive' -r
complete -c acl-admin -l allow-principal -d 'A principal to allow, as Type:name (User:alice; User:* is every user), repeatable' -r
complete -c acl-admin -l deny-principal -d 'A principal to deny, as Type:name, repeatable; a DENY wins over any ALLOW' -r
complete -c acl-admin -l allow-host -d 'A host the allowed principals may connect from, repeatable (* when left out)' -r
complete -c acl-admin -l deny-host -d 'A host the denied principals are denied from, repeatable (* when left out)' -r
complete -c acl-admin -l principal -d 'With --list, only this principal\'s ACLs, repeatable' -r
complete -c acl-admin -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c acl-admin -l add -d 'Add the ACLs the other flags describe'
complete -c acl-admin -l remove -d 'Remove the ACLs the other flags describe; without a principal, every ACL of the named resources'
complete -c acl-admin -l list -d 'List the ACLs of the named resources, or all of them'
complete -c acl-admin -l cluster -d 'The cluster resource'
complete -c acl-admin -l producer -d 'The producer\'s ACLs: WRITE, DESCRIBE and CREATE on --topic, WRITE and DESCRIBE on --transactional-id'
complete -c acl-admin -l idempotent -d 'With --producer, also IDEMPOTENT_WRITE on the cluster'
complete -c acl-admin -l consumer -d 'The consumer\'s ACLs: READ and DESCRIBE on --topic, READ on --group'
complete -c acl-admin -l force -l yes -d 'Remove without asking for confirmation'
complete -c acl-admin -l json -d 'Short for --output json'
complete -c acl-admin -s h -l help -d 'Print help (see more with \'--help\')'
complete -c acl-admin -s V -l version -d 'Print version'

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
