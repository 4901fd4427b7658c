# Packages and man pages for okapi.
#
#   make packages   both of the below
#   make deb        okapi-server_*.deb (cargo-deb, release build) and
#                   okapi-webapp_*_all.deb (dpkg-deb) in target/debian/
#   make rpm        okapi-server and okapi-webapp .rpm from rpm/okapi.spec
#                   (rpmbuild, which builds the binaries from a tarball of the
#                   tree) in target/rpm/RPMS/
#   make lint       lintian on the .debs, rpmlint on the .rpms
#   make man        regenerate man/okapi-server.cfg.5 from config/server.cfg
#
# cargo-deb reads [package.metadata.deb] from Cargo.toml.
# RPM_PREBUILT=/abs/path/target/release packs existing binaries into the RPMs
# instead of building them again inside rpmbuild (what CI does after make deb).

CARGO     ?= cargo
VERSION   := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DEBREV    ?= 1
MAINTAINER ?= okapi maintainers <maintainers@okapi.example.org>
DEBDIR    := target/debian
WEBSTAGE  := target/debian/okapi-webapp-root
RPMTOP    := $(CURDIR)/target/rpm
# The cargo-deb release CI installs when it is missing.
CARGO_DEB_VERSION ?= 3.8.0
RPM_PREBUILT ?=
# Debian's rpm has no systemd-rpm-macros and an empty package database: load
# fallbacks for the macros and do not check BuildRequires there.
RPMBUILD_FLAGS := $(if $(shell rpm --eval '%{?systemd_post:yes}' 2>/dev/null),,--load $(CURDIR)/rpm/macros.okapi-fallback --nodeps) \
	$(if $(RPM_PREBUILT),--define "okapi_prebuilt $(RPM_PREBUILT)")

.PHONY: all packages man deb deb-server deb-webapp debian-scripts rpm rpm-tarball check-scripts lint clean-packages

all: deb

packages: deb rpm

man: man/okapi-server.cfg.5

man/okapi-server.cfg.5: config/server.cfg man/gen-server-cfg.sh
	sh man/gen-server-cfg.sh config/server.cfg > $@.new && mv $@.new $@

# debconf reads "Description", not the translatable "_Description": run the
# templates through po2debconf (po-debconf) as dh_installdebconf does, with
# any translations in debian/po/.
# cargo-deb reads the scripts by their plain names from one directory and
# only fills #DEBHELPER# when it generates systemd fragments, which okapi does
# not use (the scripts enable and start the sockets themselves): drop the line.
SERVER_SCRIPTS := config postinst prerm postrm
debian-scripts: debian/cargo-deb/okapi-server/templates $(SERVER_SCRIPTS:%=debian/cargo-deb/okapi-server/%)

debian/cargo-deb/okapi-server/%: debian/okapi-server.%
	@mkdir -p $(dir $@)
	sed '/^#DEBHELPER#$$/d' $< > $@.new
	chmod 0755 $@.new
	mv $@.new $@

debian/cargo-deb/okapi-server/templates: debian/okapi-server.templates $(wildcard debian/po/*.po)
	@mkdir -p $(dir $@)
	if command -v po2debconf >/dev/null 2>&1; then \
		po2debconf --podir=debian/po debian/okapi-server.templates > $@.new; \
	else \
		echo "warning: po2debconf missing (apt-get install po-debconf); templates without translations" >&2; \
		sed 's/^_\([A-Za-z]*:\)/\1/' debian/okapi-server.templates > $@.new; \
	fi
	mv $@.new $@

check-scripts:
	for f in debian/okapi-server.config debian/okapi-server.postinst debian/okapi-server.prerm \
	         debian/okapi-server.postrm debian/okapi-webapp.postinst debian/okapi-webapp.prerm \
	         debian/okapi-webapp.postrm; do sh -n $$f || exit 1; done
	if command -v shellcheck >/dev/null 2>&1; then shellcheck -s sh -S warning debian/okapi-server.config \
		debian/okapi-server.postinst debian/okapi-server.prerm debian/okapi-server.postrm \
		debian/okapi-webapp.postinst debian/okapi-webapp.prerm debian/okapi-webapp.postrm; fi

deb: deb-server deb-webapp

deb-server: man debian-scripts check-scripts
	command -v cargo-deb >/dev/null 2>&1 || $(CARGO) install --locked cargo-deb --version $(CARGO_DEB_VERSION)
	$(CARGO) deb --deb-revision $(DEBREV)

# okapi-webapp is architecture-independent and needs no build: staged here and
# packed with dpkg-deb.
deb-webapp: check-scripts
	rm -rf $(WEBSTAGE)
	install -d -m 0755 $(WEBSTAGE)/DEBIAN $(WEBSTAGE)/etc/apache2/conf-available \
		$(WEBSTAGE)/usr/share/okapi/webapp $(WEBSTAGE)/usr/share/doc/okapi-webapp \
		$(WEBSTAGE)/usr/share/lintian/overrides
	install -m 0644 apache/okapi-webapp.conf $(WEBSTAGE)/etc/apache2/conf-available/okapi-webapp.conf
	cp -R webapp/. $(WEBSTAGE)/usr/share/okapi/webapp/
	find $(WEBSTAGE)/usr/share/okapi/webapp -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
	install -m 0644 debian/copyright $(WEBSTAGE)/usr/share/doc/okapi-webapp/copyright
	gzip -9n < debian/changelog > $(WEBSTAGE)/usr/share/doc/okapi-webapp/changelog.Debian.gz
	chmod 0644 $(WEBSTAGE)/usr/share/doc/okapi-webapp/changelog.Debian.gz
	install -m 0644 debian/okapi-webapp.lintian-overrides $(WEBSTAGE)/usr/share/lintian/overrides/okapi-webapp
	for s in postinst prerm postrm; do \
		sed '/^#DEBHELPER#$$/d' debian/okapi-webapp.$$s > $(WEBSTAGE)/DEBIAN/$$s; \
		chmod 0755 $(WEBSTAGE)/DEBIAN/$$s; done
	echo /etc/apache2/conf-available/okapi-webapp.conf > $(WEBSTAGE)/DEBIAN/conffiles
	cd $(WEBSTAGE) && find usr -type f -exec md5sum {} + | sort -k2 > DEBIAN/md5sums
	size=$$(du -sk --exclude=DEBIAN $(WEBSTAGE) | cut -f1); \
	sed -e 's/@VERSION@/$(VERSION)-$(DEBREV)/' -e 's/@MAINTAINER@/$(MAINTAINER)/' -e "s/@SIZE@/$$size/" \
		debian/okapi-webapp.control.in > $(WEBSTAGE)/DEBIAN/control
	mkdir -p $(DEBDIR)
	dpkg-deb --root-owner-group -Zxz --build $(WEBSTAGE) $(DEBDIR)/okapi-webapp_$(VERSION)-$(DEBREV)_all.deb

# rpmbuild from the source tree: a tarball of the working tree as it is
# (uncommitted files included), unpacked by %setup.
rpm-tarball:
	mkdir -p $(RPMTOP)/SOURCES
	tar -czf $(RPMTOP)/SOURCES/okapi-$(VERSION).tar.gz --exclude=./target --exclude=./.git \
		--exclude=./okapi-dev --exclude=./fuzz/target --exclude=./fuzz/corpus --exclude=./fuzz/artifacts \
		--exclude=./tests/browser/node_modules --exclude=./debian/cargo-deb \
		--transform 's,^\.,okapi-$(VERSION),' .
	cp systemd/sysusers.d/okapi.conf $(RPMTOP)/SOURCES/okapi.sysusers

rpm: rpm-tarball man
	rm -rf $(RPMTOP)/RPMS $(RPMTOP)/SRPMS
	rpmbuild --define "_topdir $(RPMTOP)" --define "packager $(MAINTAINER)" $(RPMBUILD_FLAGS) -ba rpm/okapi.spec

lint:
	lintian --fail-on error --info $(DEBDIR)/okapi-server_*.deb $(DEBDIR)/okapi-webapp_*_all.deb
	rpmlint -c rpm/rpmlint.toml -r rpm/okapi.rpmlintrc $(RPMTOP)/RPMS/*/okapi-*.rpm rpm/okapi.spec

clean-packages:
	rm -rf $(DEBDIR) $(RPMTOP) debian/cargo-deb
