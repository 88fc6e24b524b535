# Developer interface of the CLO customer area.
#
#   make            build build/ngx_http_chantier_module.so and build/chantierctl
#   make run        install what is missing, build, run the whole stack on :8080
#   make test       build, run the test suite against a private stack
#   make bench      benchmarks (scripts/bench)
#   make clean      remove build/ and var/
#
# The module is built against a copy of Debian's nginx source (nginx-dev) in
# build/nginx, configured with Debian's own flags (conf_flags) so that the .so
# is binary compatible with /usr/sbin/nginx.

SHELL := /bin/bash
.DELETE_ON_ERROR:

NGX_SRC     ?= /usr/share/nginx/src
BUILD       := build
NGX_BUILD   := $(BUILD)/nginx
MODULE      := ngx_http_chantier_module
MODULE_SO   := $(BUILD)/$(MODULE).so
CTL         := $(BUILD)/chantierctl

CC          ?= gcc
STRICT      := -Wall -Wextra -Werror -Wno-unused-parameter
PG_INC      := -I/usr/include/postgresql

# every file of the module: a change to any of them re-runs nginx's make,
# which itself knows which objects to rebuild
MODULE_FILES := $(shell find $(MODULE) -name '*.[ch]' 2>/dev/null)

CTL_SRCS    := tools/chantierctl/chantierctl.c \
               $(MODULE)/crypto/chantier_password.c
CTL_DEPS    := $(CTL_SRCS) $(wildcard tools/chantierctl/*.h) \
               $(MODULE)/crypto/chantier_password.h

# Unit tests: t/unit/NAME_test.c, a TAP program, is linked with the one
# module file it tests, found by name (NAME.c or *_NAME.c: password_test.c
# tests crypto/chantier_password.c, json_test.c core/ngx_http_chantier_json.c).
# nginx's headers and the configured build/nginx/objs are on the include
# path; the test defines whatever nginx functions its file calls.
UNIT_SRCS   := $(wildcard t/unit/*_test.c)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
NGX_INCS    := $(addprefix -I$(NGX_BUILD)/,src/core src/event \
               src/event/modules src/os/unix objs src/http src/http/modules \
               src/http/v2)
LIBS        := -lpq -lhiredis -lyajl -lssl -lcrypto

.PHONY: all module chantierctl unit run test bench clean distclean FORCE

all: $(MODULE_SO) $(CTL)

module: $(MODULE_SO)

chantierctl: $(CTL)

unit: $(UNIT_BINS)


# Pristine copy of the nginx source, made once.
$(NGX_BUILD)/configure:
	@test -x $(NGX_SRC)/configure || \
	    { echo "error: $(NGX_SRC) missing: run scripts/install-deps" \
	           "(package nginx-dev)" >&2; exit 1; }
	rm -rf $(NGX_BUILD) $(NGX_BUILD).tmp
	mkdir -p $(BUILD)
	cp -a $(NGX_SRC) $(NGX_BUILD).tmp
	mv $(NGX_BUILD).tmp $(NGX_BUILD)

# The generated makefile holds absolute paths to this checkout: configure
# again when the checkout moved (build/nginx/.srcdir differs from CURDIR).
ifneq ($(shell cat $(NGX_BUILD)/.srcdir 2>/dev/null),$(CURDIR))
$(NGX_BUILD)/objs/Makefile: FORCE
endif

# The strict warnings are not given to configure with --with-cc-opt: configure
# compiles its feature tests with those options too, and under -Wextra -Werror
# some of them fail (pwrite, strerrordesc_np), which silently yields an
# ngx_auto_config.h different from the one /usr/sbin/nginx was built with.
# They are added when compiling instead (see below).
$(NGX_BUILD)/objs/Makefile: config $(NGX_BUILD)/configure
	cd $(NGX_BUILD) && source ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --add-dynamic-module=$(CURDIR) > objs.configure.log 2>&1 || \
	    { tail -n 30 objs.configure.log; echo "configure failed:" \
	      "see $(NGX_BUILD)/objs.configure.log" >&2; exit 1; }
	echo '$(CURDIR)' > $(NGX_BUILD)/.srcdir

# nginx's own CFLAGS (objs/Makefile) already hold -W -Wall -Werror
# -Wno-unused-parameter; the strict set is appended explicitly so that the
# rule does not depend on nginx's defaults.  Only the "modules" target is
# built: our objects and the generated module list, nothing else of nginx.
$(MODULE_SO): $(NGX_BUILD)/objs/Makefile $(MODULE_FILES)
	cd $(NGX_BUILD) && \
	    $(MAKE) -f objs/Makefile modules \
	        CFLAGS="$$(sed -n 's/^CFLAGS *= *//p' objs/Makefile) $(STRICT)"
	cp $(NGX_BUILD)/objs/$(MODULE).so $@.tmp
	mv $@.tmp $@

$(CTL): $(CTL_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) -O2 -g $(PG_INC) -I$(MODULE)/crypto -I$(MODULE) \
	    -o $@ $(CTL_SRCS) -lpq -lssl -lcrypto

$(BUILD)/unit/%_test: t/unit/%_test.c $(MODULE_FILES) \
                      $(NGX_BUILD)/objs/Makefile
	@mkdir -p $(BUILD)/unit
	@src=$$(find $(MODULE) -name '$*.c' -o -name '*_$*.c' | head -n 1); \
	 test -n "$$src" || { echo "$<: no $(MODULE)/**/$*.c to test" >&2; \
	                      exit 1; }; \
	 cmd="$(CC) $(STRICT) -O2 -g $(NGX_INCS) $(PG_INC) -I$(MODULE)"; \
	 cmd="$$cmd -I$(MODULE)/crypto -o $@ $< $$src $(LIBS)"; \
	 echo "$$cmd"; $$cmd


# PORT=8080 by default; stops with Ctrl-C.
run:
	scripts/install-deps
	$(MAKE) all
	scripts/run

# PROVE_ARGS to choose tests, e.g. make test PROVE_ARGS="t/10-session.t"
test: all unit
	scripts/test

bench: all
	@if [ -x scripts/bench ]; then scripts/bench; \
	 else echo "make bench: scripts/bench is not written yet"; fi

clean:
	@if [ -f var/run/stack.env ]; then VAR=$(CURDIR)/var/run scripts/stack stop; fi
	@if [ -f var/test/stack.env ]; then VAR=$(CURDIR)/var/test scripts/stack stop; fi
	rm -rf $(BUILD) var

FORCE:
