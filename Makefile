# ginit — build, test, run, bench, install.
GO       ?= go
PREFIX   ?= /usr
DESTDIR  ?=
BIN      := bin
SOCKET   ?= /run/ginitctl
# What --version prints as the commit ("unknown" outside git).
COMMIT   ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDFLAGS  := -X ginit/init/control.defaultSystemSocket=$(SOCKET) -X ginit/internal/version.commit=$(COMMIT)
# ginit is PID 1: static, no cgo.
GOSTATIC := CGO_ENABLED=0 $(GO)

CMDS := ginit ginitctl ginit-check sessiond
# pam_sessiond.so is C over libpam and libc alone, with its own D-Bus
# client (no language runtime, no libdbus-1 inside login, su or sshd);
# only the pam_sm_* entry points are exported. NODELETE: libpam dlcloses
# modules at pam_end, and a daemon that logs users in again and again
# keeps the module mapped instead of loading it anew for each login.
PAM_SRC     := pam/module.c pam/bus.c pam/wire.c pam/logic.c
PAM_CFLAGS  := -std=c11 -O2 -Wall -Wextra -Werror -fPIC -fvisibility=hidden
PAM_LDFLAGS := -shared -Wl,--version-script=pam/exports.map -Wl,-z,nodelete -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
# Roff man pages built from docs/NAME.SECTION.md by go-md2man (make deps).
MANDIR ?= $(BIN)/man
# The release the pages' footers name, from the one place that holds it.
RELEASE := $(shell sed -n 's/^const Release = "\(.*\)"$$/\1/p' internal/version/version.go)

.PHONY: all deps build pam man test fuzz unit-test integration-test bench run install deb boot-test desktop-test lint clean

all: build

# Debian packages the build and tests use: installed when missing (as root),
# else listed. PAM's header decides whether pam_sessiond.so can be built.
deps:
	@./test/deps.sh

build:
	@mkdir -p $(BIN)
	@if ls init/cmd/ginit/*.go >/dev/null 2>&1; then \
		echo "$(GOSTATIC) build -o $(BIN)/ginit ./init/cmd/ginit"; \
		$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/ginit ./init/cmd/ginit; \
	else echo "init/cmd/ginit not written yet: skipping bin/ginit"; fi
	$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/ginitctl ./init/cmd/ginitctl
	@if [ -d init/cmd/ginit-check ] && ls init/cmd/ginit-check/*.go >/dev/null 2>&1; then \
		echo "$(GOSTATIC) build -o $(BIN)/ginit-check ./init/cmd/ginit-check"; \
		$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/ginit-check ./init/cmd/ginit-check; fi
	$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/ginit-automount ./init/cmd/ginit-automount
	$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/ginit-busname ./init/cmd/ginit-busname
	@if ls sessiond/cmd/sessiond/*.go >/dev/null 2>&1; then \
		echo "$(GOSTATIC) build -o $(BIN)/sessiond ./sessiond/cmd/sessiond"; \
		$(GOSTATIC) build -ldflags '$(LDFLAGS)' -o $(BIN)/sessiond ./sessiond/cmd/sessiond; fi
	@$(MAKE) --no-print-directory pam
	@$(MAKE) --no-print-directory man

# bin/pam_sessiond.so, when PAM's headers are there.
pam:
	@mkdir -p $(BIN)
	@if [ ! -f /usr/include/security/pam_appl.h ]; then echo "no security/pam_appl.h (make deps): skipping $(BIN)/pam_sessiond.so"; \
	else echo "$(CC) -o $(BIN)/pam_sessiond.so $(PAM_SRC) (exports: pam/exports.map)"; \
		$(CC) $(CPPFLAGS) $(CFLAGS) $(PAM_CFLAGS) -o $(BIN)/pam_sessiond.so $(PAM_SRC) \
			$(PAM_LDFLAGS) -lpam || exit 1; fi

# The markdown's first line, "# NAME(SECTION) — what", which GitHub shows
# as the title, becomes go-md2man's title block (the page's .TH line).
man:
	@if ! command -v go-md2man >/dev/null; then echo "go-md2man not installed (make deps): skipping the man pages"; exit 0; fi; \
	mkdir -p $(MANDIR) && for m in docs/*.[0-9].md; do \
		p=$$(basename "$$m" .md); \
		sed -E '1s/^# ([^ (]+)\(([0-9])\).*/% \1 \2 "" "ginit $(RELEASE)" "ginit manual"/' "$$m" | go-md2man -out "$(MANDIR)/$$p" || exit 1; \
	done; echo "go-md2man: docs/*.[0-9].md -> $(MANDIR)"

# Unit tests everywhere, then the integration tests against the built
# binaries (privileged ones skip with a reason when not root).
test: deps build
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 25m ./...
	FUZZTIME=$${FUZZTIME:-3s} GO=$(GO) ./test/fuzz.sh

# Every fuzz target for longer (seeds it finds go under testdata/fuzz/).
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} GO=$(GO) ./test/fuzz.sh

bench: build
	@echo "== service manager: ginit beside dinit (test/bench/dinit.sh builds it into .cache/; DINIT_SRC= a checkout, DINIT=none skips it)"
	@# A failed round (dinit not ready at 10000 services under a low RLIMIT_NOFILE,
	@# say) is printed and its figures left out; the other benches still run.
	-@d=$$( [ "$${DINIT:-}" = none ] || ./test/bench/dinit.sh 2>/dev/null || true); \
	$(GO) run ./test/bench/initbench -ginit $(BIN) $${d:+-dinit $$d} -rounds $${ROUNDS:-5}
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'Start1000|Chain100' -benchtime 3x ./test/initns
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'StatusRoundTrip' -benchtime 2000x ./test/initns
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'CrashLoopRespawn' -benchtime 1x ./test/initns
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'GinitctlStatus1000' -benchtime 1x ./test/initns
	$(GO) test -count=1 -run '^$$' -bench 'BenchmarkKillTree500|BenchmarkRespawn' -benchtime 10x ./init/supervise/
	@echo "== timers: dispatch lateness through the manager vs bare time.AfterFunc; wake-ups/min of 1000 idle timers vs 1000 internal services"
	$(GO) test -count=1 -run '^$$' -bench 'TimerDispatch' -benchtime 3x ./init/service/
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'Timers1000Idle|Internal1000Idle' -benchtime 1x ./test/initns
	@echo "== PAM open_session to a usable session bus (first and second login of a user; anchor: no user manager)"
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench LoginToBus -benchtime 5x ./test/usersession
	@echo "== time from kernel start to the ttyS0 login prompt (qemu), ginit vs systemd on the same image"
	RUNS=$${RUNS:-2} GINIT_BIN=$(CURDIR)/$(BIN) ./test/boot/bench.sh 2>/dev/null
	@echo "== time from kernel start to the graphical greeter on the screen (qemu), ginit vs systemd on the same desktop image"
	RUNS=$${RUNS:-2} GINIT_DESKTOP_TEST=1 GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench Greeter -benchtime 1x -timeout 60m ./test/desktop
	$(GO) test -count=1 -run '^$$' -bench RoundTrip ./init/control/server
	$(GO) test -count=1 -run '^$$' -bench 'ListSessions|PAMSession|Inhibit' -benchtime 2s ./test/sessiond/ ./sessiond/ ./test/pam/
	@echo "== sessiond vs elogind (Debian's, unpacked into .cache/ by test/bench/elogind.sh; sessiond alone without it)"
	-@./test/bench/elogind.sh >/dev/null
	GINIT_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -run '^$$' -bench 'VersusElogind|Scale5000' -benchtime 1x ./test/bench/sdbench/

# A sandboxed ginit: private PID and mount namespaces, the sample services.
run: deps build
	./test/run-sandbox.sh

boot-test: build
	@./test/deps.sh boot
	./test/boot/run.sh

# The graphical login under qemu: greetd and lightdm greeters, typed logins,
# screendumps, VT switches, the power button (test/desktop, docs/boot.md).
desktop-test: build
	@./test/deps.sh boot
	./test/desktop/run.sh

# Installed layout: the shipped service descriptions in $(PREFIX)/lib/ginit.d,
# searched after the admin's /etc/ginit.d (which wins, and starts empty).
# The PAM module goes to the toolchain's multiarch security directory.
LIBDIR    ?= $(PREFIX)/lib
MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
PAMDIR    ?= $(LIBDIR)/$(if $(MULTIARCH),$(MULTIARCH)/)security
DOCDIR    ?= $(PREFIX)/share/doc/ginit
# The login1 bus policy's file name (the Debian package uses one of its own:
# org.freedesktop.login1.conf is systemd's).
LOGIN1_POLICY ?= org.freedesktop.login1.conf
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Binaries are installed stripped (the build keeps its symbols for tests).
INSTALL_BIN := install -s -m 0755

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/ginit.d $(DESTDIR)$(LIBDIR)/ginit.d $(DESTDIR)$(LIBDIR)/ginit.d/boot.d $(DESTDIR)$(DOCDIR)
	$(INSTALL_BIN) $(BIN)/ginit $(DESTDIR)$(PREFIX)/sbin/ginit
	$(INSTALL_BIN) $(BIN)/ginit-automount $(DESTDIR)$(PREFIX)/sbin/ginit-automount
	$(INSTALL_BIN) $(BIN)/ginit-busname $(DESTDIR)$(PREFIX)/sbin/ginit-busname
	$(INSTALL_BIN) $(BIN)/ginitctl $(DESTDIR)$(PREFIX)/bin/ginitctl
	for n in shutdown reboot poweroff halt; do ln -sf ../bin/ginitctl $(DESTDIR)$(PREFIX)/sbin/$$n; done
	@for c in ginit-check; do [ -f $(BIN)/$$c ] && $(INSTALL_BIN) $(BIN)/$$c $(DESTDIR)$(PREFIX)/bin/$$c || true; done
	@[ -f $(BIN)/sessiond ] && $(INSTALL_BIN) $(BIN)/sessiond $(DESTDIR)$(PREFIX)/sbin/sessiond || true
	@[ -f $(BIN)/pam_sessiond.so ] && install -D -s -m 0644 $(BIN)/pam_sessiond.so $(DESTDIR)$(PAMDIR)/pam_sessiond.so || true
	@# units/ and its subdirectories of descriptions (units/sessiond); not the
	@# sandbox samples (units/sample) nor the bus policy (below).
	@for f in units/* units/sessiond/*; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(LIBDIR)/ginit.d/ || true; done
	@# The user manager's units (ginit --user searches $(LIBDIR)/ginit.d/user).
	install -d $(DESTDIR)$(LIBDIR)/ginit.d/user
	@for f in units/user/*; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(LIBDIR)/ginit.d/user/ || true; done
	@# greetd's configurations for units/greetd-graphical.
	@for f in units/greetd-config/*; do [ -f "$$f" ] && install -D -m 0644 "$$f" $(DESTDIR)/etc/greetd/$$(basename "$$f") || true; done
	@[ -f units/dbus-policy/org.freedesktop.login1.conf ] && install -D -m 0644 units/dbus-policy/org.freedesktop.login1.conf $(DESTDIR)$(PREFIX)/share/dbus-1/system.d/$(LOGIN1_POLICY) || true
	@# bash completion of ginitctl (services from the running ginit) and
	@# pam-auth-update's profile for pam_sessiond.
	install -D -m 0644 completion/ginitctl.bash $(DESTDIR)$(BASHCOMPDIR)/ginitctl
	@[ -f $(BIN)/pam_sessiond.so ] && install -D -m 0644 pam/pam-configs/sessiond $(DESTDIR)$(PREFIX)/share/pam-configs/sessiond || true
	@for m in docs/*.[0-9].md docs/*.sample; do [ -f "$$m" ] && install -m 0644 "$$m" "$(DESTDIR)$(DOCDIR)/$$(basename $$m)" || true; done
	@for p in $(MANDIR)/*.[0-9]; do [ -f "$$p" ] && install -D -m 0644 "$$p" "$(DESTDIR)$(PREFIX)/share/man/man$${p##*.}/$$(basename $$p)" || true; done
	@# reboot(8), poweroff(8) and halt(8) are shutdown(8).
	@if [ -f $(MANDIR)/shutdown.8 ]; then for n in reboot poweroff halt; do echo '.so man8/shutdown.8' >"$(DESTDIR)$(PREFIX)/share/man/man8/$$n.8"; done; fi

# The Debian package, built with dpkg-buildpackage in a copy of the tree
# under $(BIN)/deb (the .deb lands in $(BIN)), then checked by lintian:
# errors fail, each override is justified in debian/ginit.lintian-overrides.
deb:
	@./test/deps.sh deb
	rm -rf $(BIN)/deb && mkdir -p $(BIN)/deb/ginit
	git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t $(BIN)/deb/ginit
	cd $(BIN)/deb/ginit && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL GINIT_COMMIT=$(COMMIT) dpkg-buildpackage -b -us -uc
	mv $(BIN)/deb/*.deb $(BIN)/
	lintian --fail-on error --suppress-tags bad-distribution-in-changes-file $(BIN)/ginit_*.deb

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf $(BIN)
