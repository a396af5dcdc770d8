#include "tests/oracles/oracle_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "checker/model.h"

extern char** environ;

namespace kvlog::oracles {

Ran Run(const std::vector<std::string>& argv) {
  Ran ran;
  int fds[2];
  if (pipe(fds) != 0) return ran;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    ran.output = "cannot start " + argv[0];
    return ran;
  }
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) ran.output.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ran.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/" + name;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

std::string Runfile(const std::string& rel) {
  const char* src = std::getenv("TEST_SRCDIR");
  return std::string(src && *src ? src : ".") + "/kvlog/" + rel;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

bool KvJudgesBatchAndRange() {
  auto model = checker::MakeModel("kv");
  using checker::Value;
  checker::Operation batch, range;
  batch.f = "batch";
  batch.outcome = range.outcome = checker::EventType::kOk;
  batch.input = Value::List({Value::Map({"f", "key", "value"}, {Value::String("put"), Value::String("k"), Value::String("v")})});
  range.f = "range";
  range.key = "k";
  range.output = Value::List({Value::List({Value::String("k"), Value::String("v")})});
  return model && model->Handles(batch) && model->Handles(range);
}

}  // namespace kvlog::oracles
