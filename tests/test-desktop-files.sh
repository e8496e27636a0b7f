#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The desktop file and AppStream metainfo pass the distributions' validators.
set -euo pipefail
desktop-file-validate "$top_builddir/data/org.credgate.Manager.desktop"
appstreamcli validate --no-net --pedantic --explain "$top_srcdir/data/org.credgate.Manager.metainfo.xml"
echo "ok - desktop file and metainfo validate"
