_vbr() {
    local IFS=$' \t\n'
    local args cur prev cmd opts arg
    args=("${COMP_WORDS[@]}")
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    opts="-h --help --version --url -u --username --password-file --api-version --ca-file --insecure --profile --inventory --json -q --quiet -v --verbose"

    case "$prev" in
        --url)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        -u|--username)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --password-file)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --api-version)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --ca-file)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --profile)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --inventory)
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
    esac

    args=("${args[@]:1}")
    for arg in "${args[@]}"; do
        case "$arg" in
            configbackup|cb)
                cmd="configbackup"
                opts="$opts -h --help"
                args=("${args[@]:1}")
                for arg in "${args[@]}"; do
                    case "$arg" in
                        show)
                            cmd="$cmd show"
                            opts="$opts -h --help"
                            break
                            ;;
                        set)
                            cmd="$cmd set"
                            opts="$opts -h --help --schedule --retention --repository --encryption --enable --disable --snmp --email --email-to --dry-run --force"
                            break
                            ;;
                        run)
                            cmd="$cmd run"
                            opts="$opts -h --help --wait --timeout --strict --force"
                            break
                            ;;
                        export)
                            cmd="$cmd export"
                            opts="$opts -h --help"
                            break
                            ;;
                        apply)
                            cmd="$cmd apply"
                            opts="$opts -h --help --dry-run --force"
                            break
                            ;;
                        diff)
                            cmd="$cmd diff"
                            opts="$opts -h --help"
                            break
                            ;;
                    esac
                done
                break
                ;;
            sessions)
                cmd="sessions"
                opts="$opts -h --help"
                args=("${args[@]:1}")
                for arg in "${args[@]}"; do
                    case "$arg" in
                        list)
                            cmd="$cmd list"
                            opts="$opts -h --help --type --limit"
                            break
                            ;;
                        show)
                            cmd="$cmd show"
                            opts="$opts -h --help"
                            break
                            ;;
                        logs)
                            cmd="$cmd logs"
                            opts="$opts -h --help"
                            break
                            ;;
                        wait)
                            cmd="$cmd wait"
                            opts="$opts -h --help --timeout --strict"
                            break
                            ;;
                        stop)
                            cmd="$cmd stop"
                            opts="$opts -h --help"
                            break
                            ;;
                    esac
                done
                break
                ;;
            schedule)
                cmd="schedule"
                opts="$opts -h --help"
                args=("${args[@]:1}")
                for arg in "${args[@]}"; do
                    case "$arg" in
                        describe)
                            cmd="$cmd describe"
                            opts="$opts -h --help"
                            break
                            ;;
                        next)
                            cmd="$cmd next"
                            opts="$opts -h --help -n --count --from"
                            break
                            ;;
                        templates)
                            cmd="$cmd templates"
                            opts="$opts -h --help"
                            break
                            ;;
                    esac
                done
                break
                ;;
            repl)
                cmd="repl"
                opts="$opts -h --help"
                break
                ;;
            completion)
                cmd="completion"
                opts="$opts -h --help"
                break
                ;;
            manpage)
                cmd="manpage"
                opts="$opts -h --help"
                break
                ;;
            fleet)
                cmd="fleet"
                opts="$opts -h --help"
                args=("${args[@]:1}")
                for arg in "${args[@]}"; do
                    case "$arg" in
                        audit)
                            cmd="$cmd audit"
                            opts="$opts -h --help --limit --concurrency --deadline --policy --format -o --output --all"
                            break
                            ;;
                        apply)
                            cmd="$cmd apply"
                            opts="$opts -h --help --limit --concurrency --deadline --dry-run"
                            break
                            ;;
                        run)
                            cmd="$cmd run"
                            opts="$opts -h --help --limit --concurrency --deadline --if-older-than --wait --timeout --force"
                            break
                            ;;
                    esac
                done
                break
                ;;
        esac
    done

    case "$cmd" in
        '')
            COMPREPLY=($(compgen -W "configbackup cb sessions schedule repl completion manpage fleet" -- "$cur"))
            ;;
        'configbackup')
            COMPREPLY=($(compgen -W "show set run export apply diff" -- "$cur"))
            ;;
        'configbackup set')
            case "$prev" in
                --schedule)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --retention)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --repository)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --encryption)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --snmp)
                    COMPREPLY=($(compgen -W "on off" -- "$cur"))
                    return 0
                    ;;
                --email)
                    COMPREPLY=($(compgen -W "on off" -- "$cur"))
                    return 0
                    ;;
                --email-to)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'configbackup run')
            case "$prev" in
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'sessions')
            COMPREPLY=($(compgen -W "list show logs wait stop" -- "$cur"))
            ;;
        'sessions list')
            case "$prev" in
                --type)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --limit)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'sessions wait')
            case "$prev" in
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'schedule')
            COMPREPLY=($(compgen -W "describe next templates" -- "$cur"))
            ;;
        'schedule next')
            case "$prev" in
                -n|--count)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --from)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'fleet')
            COMPREPLY=($(compgen -W "audit apply run" -- "$cur"))
            ;;
        'fleet audit')
            case "$prev" in
                --limit)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --deadline)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --policy)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --format)
                    COMPREPLY=($(compgen -W "table json prometheus nagios" -- "$cur"))
                    return 0
                    ;;
                -o|--output)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'fleet apply')
            case "$prev" in
                --limit)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --deadline)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'fleet run')
            case "$prev" in
                --limit)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --deadline)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --if-older-than)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
    esac

    if [[ "$cur" = -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}

complete -F _vbr -o bashdefault -o default vbr
