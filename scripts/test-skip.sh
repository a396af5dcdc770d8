# Sourced by shell tests (sh_test): `skip_test NAME MESSAGE` prints
# "SKIPPED: MESSAGE", records one skipped case in the test's XML result
# (Bazel's XML_OUTPUT_FILE) so that scripts/test counts it as skipped, not
# passed, and exits 0.
skip_test() {
  local name="$1"
  shift
  echo "SKIPPED: $*"
  if [[ -n "${XML_OUTPUT_FILE:-}" ]]; then
    local why="${*//&/&amp;}"
    why="${why//\"/&quot;}"
    why="${why//</&lt;}"
    cat >"$XML_OUTPUT_FILE" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1" failures="0" errors="0" skipped="1">
  <testsuite name="$name" tests="1" failures="0" errors="0" skipped="1">
    <testcase name="$name" classname="$name"><skipped message="$why"/></testcase>
  </testsuite>
</testsuites>
XML
  fi
  exit 0
}
