_console__producer() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="console__producer"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        console__producer)
            opts="-X -t -h -V --bootstrap-server --command-config --timeout --topic --file --property --partition --acks --compression --linger-ms --batch-size --sync --key-serializer --value-serializer --partitioner --filter --header --stats --transform --on-error --transform-fuel --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --bootstrap-server)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                -X)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --command-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --topic)
                    COMPREPLY=($(compgen -W "$(_gregor_names "$1" topics)" -- "${cur}"))
                    return 0
                    ;;
                -t)
                    COMPREPLY=($(compgen -W "$(_gregor_names "$1" topics)" -- "${cur}"))
                    return 0
                    ;;
                --file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --property)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --partition)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --acks)
                    COMPREPLY=($(compgen -W "0 1 all -1" -- "${cur}"))
                    return 0
                    ;;
                --compression)
                    COMPREPLY=($(compgen -W "none gzip snappy lz4 zstd" -- "${cur}"))
                    return 0
                    ;;
                --linger-ms)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --batch-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --key-serializer)
                    COMPREPLY=($(compgen -W "string int long double hex base64 json" -- "${cur}"))
                    return 0
                    ;;
                --value-serializer)
                    COMPREPLY=($(compgen -W "string int long double hex base64 json" -- "${cur}"))
                    return 0
                    ;;
                --partitioner)
                    COMPREPLY=($(compgen -W "murmur2 consistent_random random round-robin" -- "${cur}"))
                    return 0
                    ;;
                --filter)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --header)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --transform)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --on-error)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --transform-fuel)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _console__producer -o nosort -o bashdefault -o default console-producer
else
    complete -F _console__producer -o bashdefault -o default console-producer
fi

# Names from the cluster the command line names (or GREGOR_BOOTSTRAP), from
# the tool itself; nothing when it cannot be reached.
_gregor_names() {
    local i bootstrap=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --bootstrap-server ]]; then
            bootstrap=(--bootstrap-server "${COMP_WORDS[i+1]}")
        fi
    done
    GREGOR_COMPLETE="$2" "$1" "${bootstrap[@]}" 2>/dev/null
}
