complete -c log-dump -l files -d 'The files to dump, comma separated: <base offset>.log, .index, .timeindex, <offset>.snapshot, leader-epoch-checkpoint' -r -F
complete -c log-dump -l output -r -f -a "table\t'Aligned columns for people'
json\t'JSON for programs'"
complete -c log-dump -l deep-iteration -d 'Every record of each batch, not only the batch headers'
complete -c log-dump -l print-data-log -d 'Each record\'s key and value too (implies --deep-iteration)'
complete -c log-dump -l index-sanity-check -d 'For an index: only whether it passes its checks against its segment, not its entries'
complete -c log-dump -l verify-index-only -d 'For an index: only the entries that do not match its segment'
complete -c log-dump -l offsets-decoder -d 'Decode __consumer_offsets records: committed offsets and group metadata (implies --print-data-log)'
complete -c log-dump -l transaction-log-decoder -d 'Decode __transaction_state records: transactional ids\' state (implies --print-data-log)'
complete -c log-dump -l json -d 'Same as --output json'
complete -c log-dump -s h -l help -d 'Print help (see more with \'--help\')'
complete -c log-dump -s V -l version -d 'Print version'
