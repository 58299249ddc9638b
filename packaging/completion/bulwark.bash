# bash completion for bulwark 0.1.0. Generated from the CLI's command table (src/cli/spec.ts): do not edit;
# regenerate with `npm run gen:cli` (a unit test fails when this file is stale).
# Install: copy to /usr/share/bash-completion/completions/bulwark, or: eval "$(bulwark completion bash)"
_bulwark_children() {
  case "$1" in
    '') echo 'run status reload ping config db blocked block unblock scan protection isolation fleet rules events completion policy' ;;
    'config') echo 'check show paths schema example' ;;
    'db') echo 'info verify reload' ;;
    'protection') echo 'on off status' ;;
    'isolation') echo 'on off status exclusions' ;;
    'isolation exclusions') echo 'add edit remove enable disable' ;;
    'rules') echo 'sources update list stats' ;;
    'rules sources') echo 'list enable disable remove' ;;
    'completion') echo 'bash zsh' ;;
    'policy') echo 'show explain' ;;
  esac
}
_bulwark_flags() {
  case "$1" in
    'run') echo '--config --help --json' ;;
    'status') echo '--json --help --config' ;;
    'reload') echo '--json --help --config' ;;
    'ping') echo '--json --help --config' ;;
    'config') echo '--config --json --help' ;;
    'db') echo '--active --json --help --config' ;;
    'blocked') echo '--json --reverse --since --sort --help --config' ;;
    'block') echo '--for --json --reason --help --config' ;;
    'unblock') echo '--all --json --help --config' ;;
    'scan') echo '--action-order --checksum-checks --databases --inbound-only --json --midstream --no-alerts --packet-alert-max --rules --simulate-ips --threshold-file --workers --help --config' ;;
    'protection') echo '--json --help --config' ;;
    'isolation') echo '--active --cgroup --description --direction --executable --for --group --inactive --json --local-ports --protocol --reason --remote --remote-ports --unit --user --help --config' ;;
    'fleet') echo '--cluster-listen --cluster-name --config --events-max-age --events-max-bytes --for --host --http --isolated --json --listen --max-block --name --operator --reason --replicas --route --rule --store --tls-ca --tls-cert --tls-key --valid --wait --help' ;;
    'rules') echo '--checksum --checksum-url --disabled --enabled --force --group --json --limit --match --no-reload --sid --url --help --config' ;;
    'events') echo '--file --follow --json --lines --severity --sid --since --src --type --help --config' ;;
    'completion') echo '--help --config --json' ;;
    'policy') echo '--active --databases --json --rules --help --config' ;;
    *) echo '--config --json --help --version' ;;
  esac
}
_bulwark() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} key="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    if [[ " $(_bulwark_children "$key") " == *" $w "* ]]; then key=${key:+$key }$w; fi
  done
  case $prev in
    --checksum) COMPREPLY=($(compgen -W 'md5 sha256 none' -- "$cur")); return ;;
    --checksum-checks) COMPREPLY=($(compgen -W 'auto yes no' -- "$cur")); return ;;
    --direction) COMPREPLY=($(compgen -W 'inbound outbound both' -- "$cur")); return ;;
    --for) COMPREPLY=($(compgen -W '90m 8h 1d' -- "$cur")); return ;;
    --protocol) COMPREPLY=($(compgen -W 'tcp udp icmp any' -- "$cur")); return ;;
    --severity) COMPREPLY=($(compgen -W 'low medium high critical' -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W 'blocked expires address reason' -- "$cur")); return ;;
    --type) COMPREPLY=($(compgen -W 'alert blocklist isolation bulwark' -- "$cur")); return ;;
    --cgroup|--config|--databases|--executable|--file|--rules|--store|--threshold-file|--url) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_bulwark_flags "${key%% *}")" -- "$cur"))
    return
  fi
  local words; words=$(_bulwark_children "$key")
  if [[ -n $words ]]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -F _bulwark bulwark
