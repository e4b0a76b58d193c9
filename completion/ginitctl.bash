# bash completion for ginitctl and the shutdown front-ends (ginit).
# Commands and options come from this file; service names from the running
# ginit (`ginitctl list`, the socket ginitctl would use with the options
# typed so far) and, for enable and --offline, from the service directories.

_ginitctl_services() {
	# The options already on the line that choose the instance.
	local -a sel=()
	local i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-u | --user | -s | --system) sel+=("$w") ;;
		-p | --socket-path) sel+=("$w" "${COMP_WORDS[i + 1]}") ;;
		--socket-path=*) sel+=("$w") ;;
		esac
	done
	# "[{+}     ] name (pid: 1)": the name is the word after "] ".
	ginitctl "${sel[@]}" list 2>/dev/null | sed -n 's/^\[.*\] \([^ ]*\).*/\1/p'
}

_ginitctl_files() {
	local d
	for d in /etc/ginit.d /run/ginit.d /usr/local/lib/ginit.d /usr/lib/ginit.d /lib/ginit.d; do
		[ -d "$d" ] && find "$d" -maxdepth 1 -type f -printf '%f\n' 2>/dev/null
	done | sort -u
}

_ginitctl() {
	local cur prev cmd i w
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="start stop restart wake release unpin status is-started is-failed list reload reload-service unload
		add-dep rm-dep enable disable setenv unsetenv trigger untrigger signal catlog shutdown"
	local global="-p --socket-path -u --user -s --system -o --offline -d --services-dir -q --quiet
		--use-passed-cfd --help --version"
	case $prev in
	-p | --socket-path | -d | --services-dir)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--from)
		COMPREPLY=($(compgen -W "$(_ginitctl_services) $(_ginitctl_files)" -- "$cur"))
		return
		;;
	esac
	cmd=
	local npos=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-p | --socket-path | -d | --services-dir | --from) ((i++)) ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then cmd=$w; else ((npos++)); fi
			;;
		esac
	done
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi
	local opts=
	case $cmd in
	start) opts="--no-wait --pin" ;;
	stop) opts="--no-wait --pin --ignore-unstarted --force" ;;
	restart) opts="--no-wait --ignore-unstarted --force" ;;
	wake) opts="--no-wait" ;;
	release) opts="--ignore-unstarted" ;;
	enable | disable) opts="--from" ;;
	catlog) opts="--clear" ;;
	signal) opts="-l --list" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
		return
	fi
	case $cmd in
	list | setenv | unsetenv) ;;
	shutdown) ((npos == 0)) && COMPREPLY=($(compgen -W "halt poweroff reboot kexec" -- "$cur")) ;;
	add-dep | rm-dep)
		if ((npos == 0)); then
			COMPREPLY=($(compgen -W "need regular milestone waits-for" -- "$cur"))
		elif ((npos < 3)); then
			COMPREPLY=($(compgen -W "$(_ginitctl_services)" -- "$cur"))
		fi
		;;
	signal)
		if ((npos == 0)); then
			COMPREPLY=($(compgen -W "HUP INT QUIT KILL USR1 USR2 TERM CONT STOP" -- "$cur"))
		elif ((npos == 1)); then
			COMPREPLY=($(compgen -W "$(_ginitctl_services)" -- "$cur"))
		fi
		;;
	enable)
		((npos == 0)) && COMPREPLY=($(compgen -W "$(_ginitctl_files)" -- "$cur"))
		;;
	*)
		((npos == 0)) && COMPREPLY=($(compgen -W "$(_ginitctl_services)" -- "$cur"))
		;;
	esac
}
complete -F _ginitctl ginitctl

_ginit_shutdown() {
	local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]##*/}
	local o
	case $prog in
	shutdown)
		o="-r --reboot -P --poweroff -h -H --halt -k --warn-only -c --cancel -t --term-delay --no-wall --socket-path --help --version"
		[[ $cur == -* ]] || o="now +5 +10 +15"
		;;
	*) o="-f --force -w --wtmp-only -d --no-wtmp -n --no-sync --no-wall --reboot --poweroff --halt -p -s --socket-path --help --version" ;;
	esac
	COMPREPLY=($(compgen -W "$o" -- "$cur"))
}
complete -F _ginit_shutdown shutdown reboot poweroff halt
