#!/bin/sh
# `make deb`: builds build/stoker_<version>_<arch>.deb from build/stoker and packaging/,
# with Depends computed by dpkg-shlibdeps from the binary's own libraries.
set -eu
cd "$(dirname "$0")/.."
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
root=build/deb/root
rm -rf build/deb
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/stoker" \
	"$root/usr/share/man/man8" "$root/usr/share/doc/stoker"
install -m 0755 build/stoker "$root/usr/bin/stoker"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/stoker"
install -m 0644 packaging/systemd/stoker.service "$root/lib/systemd/system/stoker.service"
install -m 0644 packaging/stoker.yaml "$root/etc/stoker/stoker.yaml"
install -m 0640 packaging/stoker.env "$root/etc/stoker/stoker.env"
gzip -9n -c packaging/stoker.8 > "$root/usr/share/man/man8/stoker.8.gz"
install -m 0644 packaging/debian/copyright "$root/usr/share/doc/stoker/copyright"
sed "s/@VERSION@/$version/" packaging/debian/changelog | gzip -9n > "$root/usr/share/doc/stoker/changelog.gz"
printf '/etc/stoker/stoker.yaml\n/etc/stoker/stoker.env\n' > "$root/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst "$root/DEBIAN/postinst"
install -m 0755 packaging/debian/postrm "$root/DEBIAN/postrm"

# dpkg-shlibdeps wants a source tree with debian/control: give it a minimal one.
tmp=$(mktemp -d)
mkdir -p "$tmp/debian"
printf 'Source: stoker\n\nPackage: stoker\nArchitecture: any\n' > "$tmp/debian/control"
deps=$(cd "$tmp" && dpkg-shlibdeps -O "$OLDPWD/$root/usr/bin/stoker" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$tmp"
[ -n "$deps" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$deps/" \
	-e "s/@SIZE@/$size/" packaging/debian/control > "$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -exec md5sum {} + | sed 's| \./| |') > "$root/DEBIAN/md5sums"
out="build/stoker_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
