complete -c broker-start -l override -d 'Set a property, overriding the file: --override log.dirs=/var/lib/gregor' -r
complete -c broker-start -s h -l help -d 'Print help'
complete -c broker-start -s V -l version -d 'Print version'
