# fish completion for kitovu. Commands and options come from `kitovu complete`, subject and
# connection names from the config the command line names (or the default one), so they are
# always those of the installed program and the user's config.

# The command (sync, validate, ...) of the command line being completed, if typed yet.
function __kitovu_command
    set -l tokens (commandline -opc)
    set -q tokens[2]; and not string match -q -- '-*' $tokens[2]; and echo $tokens[2]
end

# The --config of the command line being completed, as arguments for `kitovu complete`.
function __kitovu_config
    set -l tokens (commandline -opc)
    set -l at (contains -i -- --config $tokens); or return
    set -q tokens[(math $at + 1)]; and printf '%s\n' --config $tokens[(math $at + 1)]
end

# Whether the previous word is one of the given options (the current word is their value).
function __kitovu_after
    set -l tokens (commandline -opc)
    contains -- $tokens[-1] $argv
end

set -l value_options --config --cache --editor --jobs --connection
complete -c kitovu -f
complete -c kitovu -n '__kitovu_after --config --cache' -F
complete -c kitovu -n '__kitovu_after --editor' -a '(__fish_complete_command)'
complete -c kitovu -n '__kitovu_after --connection' -a '(kitovu complete connections (__kitovu_config) 2>/dev/null)'
complete -c kitovu -n "not __kitovu_after $value_options; and not __kitovu_command" -a '(kitovu complete commands 2>/dev/null)'
complete -c kitovu -n "not __kitovu_after $value_options; and string match -q -- '-*' (commandline -ct)" -a '(kitovu complete options (__kitovu_command) 2>/dev/null)'
complete -c kitovu -n "not __kitovu_after $value_options; and string match -q sync -- (__kitovu_command)" -a '(kitovu complete subjects (__kitovu_config) 2>/dev/null)'
complete -c kitovu -n "not __kitovu_after $value_options; and string match -q -r -- '^(ls|test|login|logout)\$' (__kitovu_command)" -a '(kitovu complete connections (__kitovu_config) 2>/dev/null)'
