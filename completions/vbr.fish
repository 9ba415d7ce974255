function __fish_vbr_print_command
    set -l cmdline (commandline -poc)
    set -l cmd
    set -e cmdline[1]
    for arg in $cmdline
        switch $arg
            case configbackup cb
                set cmd $cmd configbackup
                set -e cmdline[1]
                for arg in $cmdline
                    switch $arg
                        case show
                            set cmd $cmd show
                            break
                        case set
                            set cmd $cmd set
                            break
                        case run
                            set cmd $cmd run
                            break
                        case export
                            set cmd $cmd export
                            break
                        case apply
                            set cmd $cmd apply
                            break
                        case diff
                            set cmd $cmd diff
                            break
                    end
                end
                break
            case sessions
                set cmd $cmd sessions
                set -e cmdline[1]
                for arg in $cmdline
                    switch $arg
                        case list
                            set cmd $cmd list
                            break
                        case show
                            set cmd $cmd show
                            break
                        case logs
                            set cmd $cmd logs
                            break
                        case wait
                            set cmd $cmd wait
                            break
                        case stop
                            set cmd $cmd stop
                            break
                    end
                end
                break
            case schedule
                set cmd $cmd schedule
                set -e cmdline[1]
                for arg in $cmdline
                    switch $arg
                        case describe
                            set cmd $cmd describe
                            break
                        case next
                            set cmd $cmd next
                            break
                        case templates
                            set cmd $cmd templates
                            break
                    end
                end
                break
            case repl
                set cmd $cmd repl
                break
            case completion
                set cmd $cmd completion
                break
            case manpage
                set cmd $cmd manpage
                break
            case fleet
                set cmd $cmd fleet
                set -e cmdline[1]
                for arg in $cmdline
                    switch $arg
                        case audit
                            set cmd $cmd audit
                            break
                        case apply
                            set cmd $cmd apply
                            break
                        case run
                            set cmd $cmd run
                            break
                    end
                end
                break
        end
    end
    echo "$cmd"
end

function __fish_vbr_using_command
    test (__fish_vbr_print_command) = "$argv"
    and return 0
    or return 1
end

function __fish_vbr_seen_command
    string match -q "$argv*" (__fish_vbr_print_command)
    and return 0
    or return 1
end

complete -c vbr -n '__fish_vbr_using_command' -xa 'configbackup cb' -d 'Show, change, compare and run the configuration backup'
complete -c vbr -n '__fish_vbr_using_command' -xa 'sessions' -d 'List, follow and stop sessions, read their logs'
complete -c vbr -n '__fish_vbr_using_command' -xa 'schedule' -d 'Read and try schedules (no server needed)'
complete -c vbr -n '__fish_vbr_using_command' -xa 'repl' -d 'A Lua prompt connected to the server (client, cb, vbr; help())'
complete -c vbr -n '__fish_vbr_using_command' -xa 'completion' -d 'Print the completion script of a shell: eval "$(vbr completion bash)", or see the README'
complete -c vbr -n '__fish_vbr_using_command' -xa 'manpage' -d 'Print the manual page (roff), made from this help: vbr manpage | man -l -'
complete -c vbr -n '__fish_vbr_using_command' -xa 'fleet' -d 'Audit, align and back up many servers of an inventory'
complete -c vbr -s h -l help -d 'Show this help and exit'
complete -c vbr -l version -d 'Show the version and exit'
complete -c vbr -l url -r -d 'Server URL, https://host[:port] (default port 9419; env VBR_URL)'
complete -c vbr -s u -l username -r -d 'User name (env VBR_USERNAME)'
complete -c vbr -l password-file -r -d 'File holding the password; - reads it from standard input (env VBR_PASSWORD_FILE; or set VBR_PASSWORD)'
complete -c vbr -l api-version -r -d 'API revision such as 1.3-rev1, or auto (env VBR_API_VERSION)'
complete -c vbr -l ca-file -r -d 'CA certificate (PEM) to verify the server (env VBR_CA_FILE)'
complete -c vbr -l insecure -d 'Do not verify the server\'s certificate (env VBR_INSECURE=1)'
complete -c vbr -l profile -r -d 'Take the connection settings of this server of the inventory (env VBR_PROFILE)'
complete -c vbr -l inventory -r -d 'The inventory file (env VBR_INVENTORY; default ~/.config/vbr/inventory, else /etc/vbr/inventory)'
complete -c vbr -l json -d 'Print the result as one JSON document on stdout, and nothing else there'
complete -c vbr -s q -l quiet -d 'Print only the result and errors: no progress, no notes'
complete -c vbr -s v -l verbose -d 'Show each request\'s method, path and status on stderr (never a header, a password or a token)'

complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'show' -d 'Show the settings, the schedule in words, the next runs and the last session'
complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'set' -d 'Change some settings: shows the change, then saves it'
complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'run' -d 'Start a configuration backup now'
complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'export' -d 'Write the settings to a JSON file (- for stdout)'
complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'apply' -d 'Change the settings to those of a JSON file (- for stdin)'
complete -c vbr -n '__fish_vbr_using_command configbackup' -xa 'diff' -d 'Compare the server\'s settings with a JSON file (- for stdin); exit code 0 when they match, 8 when they differ'
complete -c vbr -n '__fish_vbr_seen_command configbackup' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command configbackup show' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command configbackup set' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l schedule -r -d 'When to run: a phrase or a template name'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l retention -r -d 'Restore points to keep (1 to 255)'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l repository -r -d 'Backup repository, by name or id (not a scale-out or external one)'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l encryption -r -d 'Encryption password, by hint or id; or off'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l enable -d 'Turn the configuration backup job on'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l disable -d 'Turn the configuration backup job off'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l snmp -xa 'on off' -d 'SNMP traps for the job (the server needs global SNMP settings)'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l email -xa 'on off' -d 'Email notifications'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l email-to -r -d 'Send email to these addresses (comma-separated); turns email on unless --email off'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l dry-run -d 'Show the change, send nothing'
complete -c vbr -n '__fish_vbr_seen_command configbackup set' -l force -d 'Write even at an older API revision than the server\'s, or settings that cannot work (encryption off while it is mandatory)'

complete -c vbr -n '__fish_vbr_seen_command configbackup run' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command configbackup run' -l wait -d 'Follow the session until it ends; print its log if it failed or warned'
complete -c vbr -n '__fish_vbr_seen_command configbackup run' -l timeout -r -d 'Give up waiting after this many seconds (default 3600; the session goes on, exit code 7)'
complete -c vbr -n '__fish_vbr_seen_command configbackup run' -l strict -d 'Exit with code 6 when the session ends with a warning'
complete -c vbr -n '__fish_vbr_seen_command configbackup run' -l force -d 'When a configuration backup is running, stop it first, then start a new one (VBR runs one at a time)'

complete -c vbr -n '__fish_vbr_seen_command configbackup export' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command configbackup apply' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command configbackup apply' -l dry-run -d 'Show the change, send nothing'
complete -c vbr -n '__fish_vbr_seen_command configbackup apply' -l force -d 'Write even at an older API revision than the server\'s, or settings that cannot work (encryption off while it is mandatory)'

complete -c vbr -n '__fish_vbr_seen_command configbackup diff' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_using_command sessions' -xa 'list' -d 'Recent sessions, newest first'
complete -c vbr -n '__fish_vbr_using_command sessions' -xa 'show' -d 'One session'
complete -c vbr -n '__fish_vbr_using_command sessions' -xa 'logs' -d 'The log of one session'
complete -c vbr -n '__fish_vbr_using_command sessions' -xa 'wait' -d 'Follow a session until it ends; print its log if it failed or warned'
complete -c vbr -n '__fish_vbr_using_command sessions' -xa 'stop' -d 'Ask the server to stop a running session'
complete -c vbr -n '__fish_vbr_seen_command sessions' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command sessions list' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command sessions list' -l type -r -d 'Session type, or any'
complete -c vbr -n '__fish_vbr_seen_command sessions list' -l limit -r -d 'How many (1 to 1000)'

complete -c vbr -n '__fish_vbr_seen_command sessions show' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command sessions logs' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command sessions wait' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command sessions wait' -l timeout -r -d 'Give up waiting after this many seconds (default 3600; the session goes on, exit code 7)'
complete -c vbr -n '__fish_vbr_seen_command sessions wait' -l strict -d 'Exit with code 6 when the session ends with a warning'

complete -c vbr -n '__fish_vbr_seen_command sessions stop' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_using_command schedule' -xa 'describe' -d 'Read a schedule phrase and say it back'
complete -c vbr -n '__fish_vbr_using_command schedule' -xa 'next' -d 'The next start times of a schedule'
complete -c vbr -n '__fish_vbr_using_command schedule' -xa 'templates' -d 'The named schedule templates'
complete -c vbr -n '__fish_vbr_seen_command schedule' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command schedule describe' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command schedule next' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command schedule next' -s n -l count -r -d 'How many (1 to 1000)'
complete -c vbr -n '__fish_vbr_seen_command schedule next' -l from -r -d 'Start after this local time, YYYY-MM-DD HH:MM (default: now)'

complete -c vbr -n '__fish_vbr_seen_command schedule templates' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command repl' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command completion' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command manpage' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_using_command fleet' -xa 'audit' -d 'Check every server\'s configuration backup against a policy'
complete -c vbr -n '__fish_vbr_using_command fleet' -xa 'apply' -d 'Change the settings of every server: the changes per server first, then the writes'
complete -c vbr -n '__fish_vbr_using_command fleet' -xa 'run' -d 'Start a configuration backup on every server'
complete -c vbr -n '__fish_vbr_seen_command fleet' -s h -l help -d 'Show this help and exit'

complete -c vbr -n '__fish_vbr_seen_command fleet audit' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l limit -r -d 'Only these servers: names and tags, comma-separated'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l concurrency -r -d 'Servers worked on at once (1 to 1000)'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l deadline -r -d 'Time each server may take, e.g'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l policy -r -d 'A policy file (Lua returning a table); default: the default policy'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l format -xa 'table json prometheus nagios' -d 'Output: table, json (also --json), prometheus, nagios'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -s o -l output -r -d 'Write the report to this file (atomically) instead of stdout'
complete -c vbr -n '__fish_vbr_seen_command fleet audit' -l all -d 'With --format table: every check of every server, passed ones too'

complete -c vbr -n '__fish_vbr_seen_command fleet apply' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command fleet apply' -l limit -r -d 'Only these servers: names and tags, comma-separated'
complete -c vbr -n '__fish_vbr_seen_command fleet apply' -l concurrency -r -d 'Servers worked on at once (1 to 1000)'
complete -c vbr -n '__fish_vbr_seen_command fleet apply' -l deadline -r -d 'Time each server may take, e.g'
complete -c vbr -n '__fish_vbr_seen_command fleet apply' -l dry-run -d 'Show the changes, write nothing'

complete -c vbr -n '__fish_vbr_seen_command fleet run' -s h -l help -d 'Show this help and exit'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l limit -r -d 'Only these servers: names and tags, comma-separated'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l concurrency -r -d 'Servers worked on at once (1 to 1000)'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l deadline -r -d 'Time each server may take, e.g'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l if-older-than -r -d 'Only where the last success is older than this (24h, 7d)'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l wait -d 'Follow every session to its end, with one progress display'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l timeout -r -d 'With --wait: give up on a session after this long (default 1h)'
complete -c vbr -n '__fish_vbr_seen_command fleet run' -l force -d 'Start even where a configuration backup is already running'
