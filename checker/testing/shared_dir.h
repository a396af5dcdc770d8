// Finds the project's shared data directory (the `shared/` folder that sits
// beside the repository clone) for tests.
#ifndef KVLOG_CHECKER_TESTING_SHARED_DIR_H_
#define KVLOG_CHECKER_TESTING_SHARED_DIR_H_

#include <string>

namespace kvlog::checker::testing {

// $KVLOG_SHARED_DIR if set; otherwise the first `shared/histories` found by
// walking up from the real paths of the working directory,
// $BUILD_WORKSPACE_DIRECTORY, $TEST_SRCDIR and $TEST_WORKSPACE's runfiles.
// Returns the `shared` directory, or "" when none is found.
std::string FindSharedDir();

}  // namespace kvlog::checker::testing

#endif  // KVLOG_CHECKER_TESTING_SHARED_DIR_H_
