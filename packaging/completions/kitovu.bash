# bash completion for kitovu. Commands and options come from `kitovu complete`, subject and
# connection names from the config the command line names (or the default one), so they are
# always those of the installed program and the user's config.

# The --config of the command line being completed, as arguments for `kitovu complete`.
_kitovu_config() {
    local i
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --config ]]; then
            printf '%s\n' --config "${COMP_WORDS[i + 1]/#\~/$HOME}"
            return
        fi
    done
}

# Fills COMPREPLY with the lines of `kitovu complete ARGS` (descriptions dropped) that start
# with the word being completed, quoted for the shell ("Mathe 1" becomes Mathe\ 1).
_kitovu_offer() {
    local line
    while IFS= read -r line; do
        line=${line%%$'\t'*}
        [[ $line == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$line")")
    done < <("${COMP_WORDS[0]}" complete "$@" 2>/dev/null)
    return 0
}

# Whether a word before the current one, after the command, is a positional argument (for
# `ls CONNECTION DIR`: the connection is given).
_kitovu_has_positional() {
    local i
    for ((i = 2; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --config ]] && { ((i++)); continue; }
        [[ ${COMP_WORDS[i]} != -* ]] && return 0
    done
    return 1
}

_kitovu() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local command=${COMP_WORDS[1]} config
    mapfile -t config < <(_kitovu_config)
    COMPREPLY=()
    case $prev in
    --config | --cache)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return ;;
    --editor)
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        return ;;
    --jobs) return ;;
    --connection)
        _kitovu_offer connections "${config[@]}"
        return ;;
    esac
    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then _kitovu_offer options; else _kitovu_offer commands; fi
    elif [[ $cur == -* ]]; then
        _kitovu_offer options "$command"
    elif [[ $command == sync ]]; then
        _kitovu_offer subjects "${config[@]}"
    elif [[ $command == test ]] || { [[ $command =~ ^(ls|login|logout)$ ]] && ! _kitovu_has_positional; }; then
        _kitovu_offer connections "${config[@]}"
    fi
}
complete -F _kitovu kitovu
