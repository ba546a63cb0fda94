#!/bin/sh
# The demo app's build step (run by the deployer in the release being built, with DEPLOY_SHA
# and the other DEPLOY_* variables): a syntax check, so a broken commit fails here and never
# reaches PM2, then the version file the server reports in /up.
set -eu
node --check server.js
printf '%s\n' "$DEPLOY_SHA" >version.txt
