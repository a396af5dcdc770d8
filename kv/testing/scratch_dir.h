#ifndef KVLOG_KV_TESTING_SCRATCH_DIR_H_
#define KVLOG_KV_TESTING_SCRATCH_DIR_H_

#include <string>
#include <string_view>

namespace kvlog::kv::testing {

// A path under the test's temporary directory ($TEST_TMPDIR, else /tmp) that
// no earlier call in this process returned, named after `name`, with nothing
// there: a durable store's tests open a fresh store in it.
std::string NewScratchDir(std::string_view name);

}  // namespace kvlog::kv::testing

#endif  // KVLOG_KV_TESTING_SCRATCH_DIR_H_
