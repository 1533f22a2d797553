_config__admin() {
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
                cmd="config__admin"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        config__admin)
            opts="-X -h -V --bootstrap-server --command-config --timeout --bootstrap-controller --describe --alter --entity-type --entity-name --entity-default --topic --broker --broker-defaults --user --client --user-defaults --client-defaults --ip --ip-defaults --add-config --add-config-file --delete-config --all --password-file --output --json --help --version"
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
                --bootstrap-controller)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --entity-type)
                    COMPREPLY=($(compgen -W "topics brokers users clients ips client-metrics" -- "${cur}"))
                    return 0
                    ;;
                --entity-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --topic)
                    COMPREPLY=($(compgen -W "$(_gregor_names "$1" topics)" -- "${cur}"))
                    return 0
                    ;;
                --broker)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --user)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --client)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ip)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --add-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --add-config-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --delete-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --password-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table json" -- "${cur}"))
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
    complete -F _config__admin -o nosort -o bashdefault -o default config-admin
else
    complete -F _config__admin -o bashdefault -o default config-admin
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
