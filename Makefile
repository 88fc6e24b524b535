# Developer interface of the CLO customer area.
#
#   make            build build/ngx_http_chantier_module.so, build/chantierctl,
#                   build/chantier-test-image, build/chantier-pdf-preview and
#                   build/chantier-notifier
#   make run        install what is missing, build, run the whole stack on :8080
#   make test       build, run the test suite against a private stack
#   make test SANITIZE=1
#                   the same against an nginx and a module built with
#                   AddressSanitizer and UBSan (build/asan/, below)
#   make bench      benchmarks (scripts/bench, then scripts/bench.d/notifier)
#   make assets     npm packages (node_modules) and html/vendor/ (Quill)
#   make deb        Debian 12 packages into build/deb/ (scripts/deb-build)
#   make test-deb   those packages installed into a clean Debian 12 chroot,
#                   set up by the README's production section, smoke-tested
#                   (scripts/test-deb; slow, not part of make test)
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

# SANITIZE=1: the same nginx source configured again in build/asan/nginx,
# compiled with AddressSanitizer and UBSan, whole (the binary as well as the
# module: an ASan module cannot be loaded into the non-ASan /usr/sbin/nginx)
SANITIZE    ?= 0
ASAN_BUILD  := $(BUILD)/asan/nginx
ASAN_SO     := $(BUILD)/asan/$(MODULE).so
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer

CC          ?= gcc
STRICT      := -Wall -Wextra -Werror -Wno-unused-parameter
PG_INC      := -I/usr/include/postgresql

# every file of the module: a change to any of them re-runs nginx's make,
# which itself knows which objects to rebuild
MODULE_FILES := $(shell find $(MODULE) -name '*.[ch]' -o -name '*.lua' \
                  2>/dev/null)
LUA_EMBED    := $(MODULE)/core/lua/embed

CTL_SRCS    := tools/chantierctl/chantierctl.c \
               $(MODULE)/crypto/chantier_password.c
CTL_DEPS    := $(CTL_SRCS) $(wildcard tools/chantierctl/*.h) \
               $(MODULE)/crypto/chantier_password.h

# the notifier daemon (notifier/): its own small program, libcurl, libpq
# and hiredis; its unit tests (t/unit/notifier_*_test.c) link the files that
# need libc only
NOTIFIER      := $(BUILD)/chantier-notifier
NOTIFIER_SRCS := $(wildcard notifier/*.c)
NOTIFIER_DEPS := $(NOTIFIER_SRCS) $(wildcard notifier/*.h)
NOTIFIER_PURE := notifier/chantier_notifier_text.c \
                 notifier/chantier_notifier_message.c \
                 notifier/chantier_notifier_conf.c

# libvips, for image/ (the module has it from config), its unit test and
# the test images (tools/test-image: the photo tests and the demo data)
VIPS_CFLAGS := $(shell pkg-config --cflags vips 2>/dev/null)
VIPS_LIBS   := $(shell pkg-config --libs vips 2>/dev/null)
TEST_IMAGE  := $(BUILD)/chantier-test-image

# the PDF export (pdf/): its libraries (the module has them from config),
# for its unit test and chantier-pdf-preview, which renders a fiche's JSON
# without nginx (tools/pdf-preview)
PDF_LIBS    := -lhpdf $(shell pkg-config --libs libqrencode libpng \
                 2>/dev/null) -lyajl
PDF_PREVIEW := $(BUILD)/chantier-pdf-preview
PDF_SRCS    := $(MODULE)/pdf/ngx_http_chantier_pdf.c

# Unit tests: t/unit/NAME_test.c, a TAP program, is linked with the one
# module file it tests, found by name, the first of NAME.c, chantier_NAME.c
# and ngx_http_chantier_NAME.c: password_test.c tests
# crypto/chantier_password.c (not auth/ngx_http_chantier_password.c),
# json_test.c core/ngx_http_chantier_json.c.
# nginx's headers and the configured build/nginx/objs are on the include
# path; the test defines whatever nginx functions its file calls.
UNIT_SRCS   := $(wildcard t/unit/*_test.c)
UNIT_DIR    := $(BUILD)/unit
UNIT_CFLAGS := -O2 -g
ifeq ($(SANITIZE),1)
UNIT_DIR    := $(BUILD)/asan/unit
UNIT_CFLAGS := -O1 -g $(SAN_FLAGS)
endif
UNIT_BINS   := $(patsubst t/unit/%.c,$(UNIT_DIR)/%,$(UNIT_SRCS))
NGX_INCS    := $(addprefix -I$(NGX_BUILD)/,src/core src/event \
               src/event/modules src/os/unix objs src/http src/http/modules \
               src/http/v2)
LIBS        := -lpq -lhiredis -lyajl -lssl -lcrypto

.PHONY: all module chantierctl test-image pdf-preview notifier unit assets \
        run test bench clean distclean FORCE
.PHONY: asan deb test-deb

all: $(MODULE_SO) $(CTL) $(TEST_IMAGE) $(PDF_PREVIEW) $(NOTIFIER) assets

module: $(MODULE_SO)

chantierctl: $(CTL)

test-image: $(TEST_IMAGE)

pdf-preview: $(PDF_PREVIEW)

notifier: $(NOTIFIER)

unit: $(UNIT_BINS)

# Front-end packages come from npm (package.json, package-lock.json), never
# committed: node_modules/ holds them (with playwright-core for the browser
# tests), html/vendor/ the files of the editor the pages load.  npm runs
# again only when package.json or the lock changed.
NPM_STAMP   := node_modules/.chantier-installed
VENDOR      := html/vendor
VENDOR_FILES := $(addprefix $(VENDOR)/,quill.js quill.js.LICENSE.txt \
                quill.snow.css)

# Each page, script and style sheet also gzipped beside itself (foo.js.gz),
# for nginx's gzip_static: compressed once here rather than by the gzip
# filter on every request.  Built, never committed (.gitignore).
GZIP_SOURCES := $(filter-out %.gz,$(wildcard html/*.html html/js/*.js \
                  html/js/*/*.js html/css/*.css html/img/*.svg)) \
                $(filter-out %.txt,$(VENDOR_FILES))
GZIP_FILES   := $(addsuffix .gz,$(GZIP_SOURCES))

assets: $(VENDOR_FILES) $(GZIP_FILES)

%.gz: %
	gzip -9 -n -c $< > $@.tmp && mv $@.tmp $@

$(NPM_STAMP): package.json $(wildcard package-lock.json)
	@command -v npm >/dev/null || \
	    { echo "error: npm missing: run scripts/install-deps" >&2; exit 1; }
	if [ -f package-lock.json ]; then \
	    npm ci --no-audit --no-fund; \
	else \
	    npm install --no-audit --no-fund; \
	fi
	touch $@

$(VENDOR_FILES): $(VENDOR)/%: $(NPM_STAMP)
	@mkdir -p $(VENDOR)
	cp node_modules/quill/dist/$* $@


# Pristine copy of the nginx source, made once.
$(NGX_BUILD)/configure:
	@test -x $(NGX_SRC)/configure || \
	    { echo "error: $(NGX_SRC) missing: run scripts/install-deps" \
	           "(package nginx-dev)" >&2; exit 1; }
	rm -rf $(NGX_BUILD) $(NGX_BUILD).tmp
	mkdir -p $(BUILD)
	cp -a $(NGX_SRC) $(NGX_BUILD).tmp
	mv $(NGX_BUILD).tmp $(NGX_BUILD)

# For the sanitized build, nginx-dev's headers are not enough: Debian's
# whole source, fetched once (scripts/nginx-source: the source package of
# the installed nginx-dev, or of the same upstream version with the same
# headers).
$(ASAN_BUILD)/configure:
	rm -rf $(ASAN_BUILD)
	mkdir -p $(dir $(ASAN_BUILD))
	scripts/nginx-source $(ASAN_BUILD)

# The generated makefile holds absolute paths to this checkout: configure
# again when the checkout moved (build/nginx/.srcdir differs from CURDIR).
ifneq ($(shell cat $(NGX_BUILD)/.srcdir 2>/dev/null),$(CURDIR))
$(NGX_BUILD)/objs/Makefile: FORCE
endif
ifneq ($(shell cat $(ASAN_BUILD)/.srcdir 2>/dev/null),$(CURDIR))
$(ASAN_BUILD)/objs/Makefile: FORCE
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
# The Redis scripts are embedded again first (configure did it once; the
# script rewrites its output only when a .lua file changed).
$(MODULE_SO): $(NGX_BUILD)/objs/Makefile $(MODULE_FILES)
	sh $(LUA_EMBED) $(NGX_BUILD)/objs $(MODULE)/core/lua
	cd $(NGX_BUILD) && \
	    $(MAKE) -f objs/Makefile modules \
	        CFLAGS="$$(sed -n 's/^CFLAGS *= *//p' objs/Makefile) $(STRICT)"
	cp $(NGX_BUILD)/objs/$(MODULE).so $@.tmp
	mv $@.tmp $@

# The sanitized build.  configure gets Debian's flags, --with-compat and our
# module like build/nginx, plus the sanitizers in --with-cc-opt and
# --with-ld-opt (its feature tests are linked, and run, with them: without
# them in --with-ld-opt every test would fail to link).  Only these: the
# strict warnings stay out of configure as above, and the ngx_auto_config.h
# it yields is compared with build/nginx's, so that a feature test that the
# sanitizers made fail cannot go unnoticed.  NGX_DEBUG_PALLOC makes every
# ngx_palloc() a malloc() of its own, which ASan bounds: without it, an
# overflow inside a pool block is invisible.  The feature-test programs run
# without leak detection (a test that does not free would be "not found").
ASAN_CC_OPT := $(SAN_FLAGS) -DNGX_DEBUG_PALLOC=1

$(ASAN_BUILD)/objs/Makefile: config $(ASAN_BUILD)/configure \
                             $(NGX_BUILD)/objs/Makefile
	cd $(ASAN_BUILD) && source $(NGX_SRC)/conf_flags && \
	    ASAN_OPTIONS=detect_leaks=0 ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt='$(ASAN_CC_OPT)' --with-ld-opt='$(SAN_FLAGS)' \
	        --add-dynamic-module=$(CURDIR) > objs.configure.log 2>&1 || \
	    { tail -n 30 objs.configure.log; echo "configure failed:" \
	      "see $(ASAN_BUILD)/objs.configure.log" >&2; exit 1; }
	@if ! diff <(grep -v NGX_CONFIGURE $(NGX_BUILD)/objs/ngx_auto_config.h) \
	           <(grep -v NGX_CONFIGURE $(ASAN_BUILD)/objs/ngx_auto_config.h); \
	 then \
	    echo "error: $(ASAN_BUILD)/objs/ngx_auto_config.h differs from" \
	         "$(NGX_BUILD)'s (above): a feature test failed under the" \
	         "sanitizers, see $(ASAN_BUILD)/objs/autoconf.err" >&2; \
	    rm -f $@; exit 1; \
	 fi
	echo '$(CURDIR)' > $(ASAN_BUILD)/.srcdir

# The whole nginx ("binary") and the module ("modules"), our sources with
# the strict warnings as in the normal build.
$(ASAN_SO): $(ASAN_BUILD)/objs/Makefile $(MODULE_FILES)
	sh $(LUA_EMBED) $(ASAN_BUILD)/objs $(MODULE)/core/lua
	cd $(ASAN_BUILD) && \
	    $(MAKE) -f objs/Makefile binary modules \
	        CFLAGS="$$(sed -n 's/^CFLAGS *= *//p' objs/Makefile) $(STRICT)"
	cp $(ASAN_BUILD)/objs/$(MODULE).so $@.tmp
	mv $@.tmp $@

asan: $(ASAN_SO)

$(CTL): $(CTL_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) -O2 -g $(PG_INC) -I$(MODULE)/crypto -I$(MODULE) \
	    -o $@ $(CTL_SRCS) -lpq -lssl -lcrypto

$(TEST_IMAGE): tools/test-image/chantier-test-image.c
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) -O2 -g $(VIPS_CFLAGS) -o $@ $< $(VIPS_LIBS)

$(PDF_PREVIEW): tools/pdf-preview/chantier-pdf-preview.c $(PDF_SRCS) \
                $(MODULE)/pdf/ngx_http_chantier_pdf.h $(NGX_BUILD)/objs/Makefile
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) -O2 -g $(NGX_INCS) -I$(MODULE) -o $@ $< $(PDF_SRCS) \
	    $(PDF_LIBS)

$(NOTIFIER): $(NOTIFIER_DEPS)
	@mkdir -p $(BUILD)
	$(CC) $(STRICT) -O2 -g $(PG_INC) -Inotifier -o $@ $(NOTIFIER_SRCS) \
	    -lcurl -lpq -lhiredis

# The notifier's unit tests (the shorter stem wins over the rule below)
$(UNIT_DIR)/notifier%_test: t/unit/notifier%_test.c $(wildcard t/unit/*.h) \
                            $(NOTIFIER_DEPS)
	@mkdir -p $(UNIT_DIR)
	$(CC) $(STRICT) $(UNIT_CFLAGS) -Inotifier -o $@ $< $(NOTIFIER_PURE)

# image_test.c makes its images with libvips, as its module file does
$(UNIT_DIR)/image_test: UNIT_CFLAGS += $(VIPS_CFLAGS)
$(UNIT_DIR)/image_test: LIBS += $(VIPS_LIBS)

# pdf_test.c makes its photos with libvips too, and its file needs libharu
$(UNIT_DIR)/pdf_test: UNIT_CFLAGS += $(VIPS_CFLAGS)
$(UNIT_DIR)/pdf_test: LIBS += $(PDF_LIBS) $(VIPS_LIBS)

$(UNIT_DIR)/%_test: t/unit/%_test.c $(wildcard t/unit/*.h) $(MODULE_FILES) \
                      $(NGX_BUILD)/objs/Makefile
	@mkdir -p $(UNIT_DIR)
	@src=; for name in $*.c chantier_$*.c ngx_http_chantier_$*.c; do \
	     src=$$(find $(MODULE) -name "$$name" | head -n 1); \
	     test -z "$$src" || break; \
	 done; \
	 test -n "$$src" || { echo "$<: no $(MODULE)/**/$*.c to test" >&2; \
	                      exit 1; }; \
	 cmd="$(CC) $(STRICT) $(UNIT_CFLAGS) $(NGX_INCS) $(PG_INC) -I$(MODULE)"; \
	 cmd="$$cmd -I$(MODULE)/crypto -o $@ $< $$src $(LIBS)"; \
	 echo "$$cmd"; $$cmd


# Fuzzing (libFuzzer, clang; Debian packages clang and libclang-rt-14-dev):
# fuzz/delta_fuzz.c feeds bodies to the JSON parser then to the Delta
# validator.  "make fuzz" runs it FUZZ_SECONDS (default 60), keeping what it
# learns in var/fuzz/delta; "make fuzz-smoke" runs it 10 s from the seed
# corpus only, for make test.  A crash leaves its input in var/fuzz/ and
# fails the target.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BIN     := $(BUILD)/fuzz/delta_fuzz
FUZZ_SRCS    := fuzz/delta_fuzz.c $(MODULE)/core/ngx_http_chantier_json.c \
                $(MODULE)/render/ngx_http_chantier_delta.c
FUZZ_DEPS    := $(wildcard $(MODULE)/*.h $(MODULE)/core/*_json.h \
                $(MODULE)/render/*_delta.h)
FUZZ_FLAGS   := -dict=fuzz/delta.dict -max_len=8192 -timeout=10 \
                -artifact_prefix=var/fuzz/ -print_final_stats=1

.PHONY: fuzz fuzz-smoke

$(FUZZ_BIN): $(FUZZ_SRCS) $(FUZZ_DEPS) $(NGX_BUILD)/objs/Makefile
	@command -v $(FUZZ_CC) >/dev/null || \
	    { echo "error: $(FUZZ_CC) missing: run scripts/install-deps" >&2; \
	      exit 1; }
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) $(STRICT) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all $(NGX_INCS) $(PG_INC) -I$(MODULE) \
	    -o $@ $(FUZZ_SRCS) -lyajl

fuzz: $(FUZZ_BIN)
	@mkdir -p var/fuzz/delta
	$(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	    var/fuzz/delta fuzz/corpus/delta

fuzz-smoke: $(FUZZ_BIN)
	@rm -rf var/fuzz/smoke && mkdir -p var/fuzz/smoke
	$(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=10 \
	    var/fuzz/smoke fuzz/corpus/delta


# PORT=8080 by default; stops with Ctrl-C.
run:
	scripts/install-deps
	$(MAKE) all
	scripts/run

# PROVE_ARGS to choose tests, e.g. make test PROVE_ARGS="t/10-session.t"
# the fuzzer runs 10 s from its seeds first: a crash fails the suite.
# SANITIZE=1: the stack runs build/asan's nginx and module, the unit tests
# are built with the sanitizers too (build/asan/unit), and scripts/test
# fails the run on any sanitizer report (README).
ifeq ($(SANITIZE),1)
test: asan
endif

test: all unit fuzz-smoke
	SANITIZE=$(SANITIZE) scripts/test

bench: all
	scripts/bench
	scripts/bench.d/notifier

# Debian packages (debian/): built by dpkg-buildpackage in a copy of the
# tree under build/deb/, whose debian/rules runs this Makefile's module,
# chantierctl, notifier and assets targets there.  test-deb builds them
# (scripts/deb-build) and installs them into a clean Debian 12 chroot; it
# starts servers: run it as flock /tmp/chantier-stack.lock make test-deb.
deb:
	scripts/deb-build

test-deb:
	scripts/test-deb

clean:
	@if [ -f var/run/stack.env ]; then VAR=$(CURDIR)/var/run scripts/stack stop; fi
	@if [ -f var/test/stack.env ]; then VAR=$(CURDIR)/var/test scripts/stack stop; fi
	rm -rf $(BUILD) var $(VENDOR)

FORCE:
