#include "checker/knossos.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>

#include "base/propagate.h"
#include "checker/edn.h"

extern char** environ;

namespace kvlog::checker {
namespace {

constexpr std::string_view kAbsent = ":kvlog/absent";

// A value as the register holds it: absence is a keyword, since Knossos reads
// a nil :read value as "unknown".
std::string Reg(const Value& v) { return v.is_nil() ? std::string(kAbsent) : EdnValue(v); }

// One register operation of one part.
struct Piece {
  std::string f;       // read | write | cas
  std::string value;   // the invocation's :value (EDN)
  std::string output;  // an ok read's :value (EDN)
  int64_t call = 0;
  int64_t ret = Operation::kNever;  // kNever: the outcome is unknown
  int64_t process = 0;
  bool fresh_process = false;  // a batch record written beside another of its batch
};

bool Kept(const Operation& o) { return o.outcome != EventType::kFail && !(o.info() && IsReadFunction(o.f)); }

// A batch's records: the completion's list when it has one, else the invocation's.
const Value& BatchRecords(const Operation& o) { return o.ok() && o.output.is_list() ? o.output : o.input; }

struct Record {
  std::string key;
  Value value;  // nil: delete
};

Result<std::vector<Record>> Records(const History& h, const Operation& o) {
  const Value& list = BatchRecords(o);
  if (!list.is_list()) return MakeError(h.source, o.line, "a batch's value must be a list of {f, key, value}");
  std::vector<Record> out;
  for (const Value& r : list.items()) {
    const Value* f = r.is_map() ? r.Find("f") : nullptr;
    const Value* k = r.is_map() ? r.Find("key") : nullptr;
    if (!f || !k || !f->is_string() || !k->is_string()) {
      return MakeError(h.source, o.line, "a batch record must be a map with string f and key");
    }
    const std::string& fs = f->as_string();
    if (fs == "append") return MakeError(h.source, o.line, "Knossos has no append model (a batch appends)");
    if (fs != "put" && fs != "write" && fs != "delete") {
      return MakeError(h.source, o.line, "a batch record's f must be put, write or delete, not '" + fs + "'");
    }
    const Value* v = r.Find("value");
    out.push_back({k->as_string(), fs == "delete" || !v ? Value() : *v});
  }
  return out;
}

// A range's result as key -> value; error on a malformed or repeated pair.
Result<std::map<std::string, Value>> RangeResult(const History& h, const Operation& o) {
  std::map<std::string, Value> got;
  if (o.output.is_nil()) return got;
  if (!o.output.is_list()) return MakeError(h.source, o.line, "a range's result must be a list of [key value]");
  for (const Value& p : o.output.items()) {
    if (!p.is_list() || p.items().size() != 2 || !p.items()[0].is_string()) {
      return MakeError(h.source, o.line, "a range's result must be a list of [key value]");
    }
    if (!got.emplace(p.items()[0].as_string(), p.items()[1]).second) {
      return MakeError(h.source, o.line, "a range's result names key '" + p.items()[0].as_string() + "' twice");
    }
  }
  return got;
}

// The keys a range covers: those it returned, and every key of the history
// between its lower bound (its key, else the least returned) and the greatest
// returned. None when it returned nothing (its upper bound is not recorded).
std::vector<std::string> Covered(const Operation& o, const std::map<std::string, Value>& got,
                                 const std::set<std::string>& keys) {
  std::vector<std::string> out;
  if (got.empty()) return out;
  std::string lo = got.begin()->first;
  if (o.key && *o.key < lo) lo = *o.key;
  const std::string& hi = got.rbegin()->first;
  for (const auto& [k, v] : got) out.push_back(k);
  for (auto it = keys.lower_bound(lo); it != keys.end() && *it <= hi; ++it) {
    if (!got.count(*it)) out.push_back(*it);
  }
  return out;
}

std::string PartEdn(const std::vector<Piece>& pieces, int64_t* fresh) {
  struct At {
    int64_t pos;
    bool completion;
    size_t piece;
  };
  std::vector<At> order;
  for (size_t i = 0; i < pieces.size(); ++i) {
    order.push_back({pieces[i].call, false, i});
    order.push_back({pieces[i].ret, true, i});  // kNever sorts last
  }
  std::stable_sort(order.begin(), order.end(), [](const At& a, const At& b) {
    return a.pos != b.pos ? a.pos < b.pos : (!a.completion && b.completion);
  });
  const int64_t initial = (*fresh)++;
  std::string out = fmt::format(
      "[{{:process {0}, :type :invoke, :f :write, :value {1}}}\n {{:process {0}, :type :ok, :f :write, :value {1}}}",
      initial, kAbsent);
  std::map<int64_t, int64_t> current;  // recorded process -> id written now
  std::vector<int64_t> id(pieces.size());
  for (const At& at : order) {
    const Piece& p = pieces[at.piece];
    const bool unknown = p.ret == Operation::kNever;
    if (!at.completion) {
      if (p.fresh_process) {
        id[at.piece] = (*fresh)++;
      } else {
        auto [it, added] = current.emplace(p.process, p.process);
        id[at.piece] = it->second;
        // The operation may still be running: the process goes on under a new id.
        if (unknown) it->second = (*fresh)++;
      }
    }
    fmt::format_to(std::back_inserter(out), "\n {{:process {}, :type :", id[at.piece]);
    out += !at.completion ? "invoke" : unknown ? "info" : "ok";
    out += ", :f :" + p.f + ", :value ";
    out += at.completion && p.f == "read" ? p.output : p.value;
    out += "}";
  }
  return out + "]\n";
}

}  // namespace

Result<std::vector<KnossosPart>> ExportForKnossos(const History& history, std::string_view model) {
  const bool per_key = model == "kv";
  if (model == "kv-append-per-key") {
    return MakeError(history.source, 0, "Knossos has no append model: cannot export for kv-append-per-key");
  }
  if (!per_key && model != "register" && model != "cas-register") {
    return MakeError(history.source, 0,
                     "cannot export for Knossos under model '" + std::string(model) +
                         "' (register, cas-register, kv)");
  }
  KVLOG_ASSIGN_OR_RETURN(const std::vector<Operation> ops, PairOperations(history));

  std::set<std::string> keys;  // every key of the kept operations, for ranges
  int64_t fresh = 0;
  for (const Operation& o : ops) {
    fresh = std::max(fresh, o.process + 1);
    if (!Kept(o) || !per_key) continue;
    if (o.key) keys.insert(std::string(*o.key));
    if (o.f == "batch") {
      KVLOG_ASSIGN_OR_RETURN(const auto recs, Records(history, o));
      for (const Record& r : recs) keys.insert(r.key);
    } else if (o.f == "range") {
      KVLOG_ASSIGN_OR_RETURN(const auto got, RangeResult(history, o));
      for (const auto& [k, v] : got) keys.insert(k);
    }
  }
  // The values reads returned, per key: a batch's earlier record on a key is
  // only written out when a read may have seen it.
  std::map<std::string, std::set<std::string>> observed;
  for (const Operation& o : ops) {
    if (!Kept(o) || !o.ok()) continue;
    if (o.f == "get" || o.f == "read") observed[o.key.value_or("")].insert(Reg(o.output));
    if (o.f == "range" && per_key) {
      auto got = RangeResult(history, o);
      for (const std::string& k : Covered(o, *got, keys)) {
        auto v = got->find(k);
        observed[k].insert(Reg(v == got->end() ? Value() : v->second));
      }
    }
  }

  std::map<std::string, std::vector<Piece>> parts;
  std::set<std::string> weakened;  // parts whose export is weaker than kvcheck (KnossosPart::exact)
  for (const Operation& o : ops) {
    if (!Kept(o)) continue;
    auto piece = [&](std::string f, std::string value) {
      Piece p;
      p.f = std::move(f);
      p.value = std::move(value);
      p.call = o.call;
      p.ret = o.info() ? Operation::kNever : o.ret;
      p.process = o.process;
      return p;
    };
    const std::string part = per_key ? o.key.value_or("") : "";
    auto refuse = [&](const std::string& why) {
      return MakeError(history.source, o.line, "cannot export f=" + o.f.str() + " for Knossos: " + why);
    };
    if (o.f == "get" || o.f == "read") {
      Piece p = piece("read", "nil");
      p.output = Reg(o.output);
      parts[part].push_back(std::move(p));
    } else if (o.f == "put" || o.f == "write") {
      parts[part].push_back(piece("write", Reg(o.input)));
    } else if (o.f == "delete") {
      if (!per_key) return refuse("model " + std::string(model) + " has no delete");
      parts[part].push_back(piece("write", std::string(kAbsent)));
    } else if (o.f == "cas") {
      if (model == "register") return refuse("model register has no cas");
      if (!o.input.is_list() || o.input.items().size() != 2) return refuse("a cas value must be [expected new]");
      if (o.ok() && o.result == false) {  // the compare failed: no effect (see knossos.h)
        weakened.insert(part);
        continue;
      }
      parts[part].push_back(
          piece("cas", "[" + Reg(o.input.items()[0]) + " " + Reg(o.input.items()[1]) + "]"));
    } else if (o.f == "batch" && per_key) {
      KVLOG_ASSIGN_OR_RETURN(const auto recs, Records(history, o));
      std::map<std::string, std::vector<const Record*>> by_key;
      for (const Record& r : recs) by_key[r.key].push_back(&r);
      for (const auto& [key, rs] : by_key) {
        bool seen = false;  // a read may have seen an earlier record's value
        for (size_t i = 0; i + 1 < rs.size(); ++i) seen = seen || observed[key].count(Reg(rs[i]->value)) > 0;
        if (seen) weakened.insert(key);
        for (size_t i = seen ? 0 : rs.size() - 1; i < rs.size(); ++i) {
          Piece p = piece("write", Reg(rs[i]->value));
          p.fresh_process = i + 1 < rs.size();
          parts[key].push_back(std::move(p));
        }
      }
    } else if (o.f == "range" && per_key) {
      KVLOG_ASSIGN_OR_RETURN(const auto got, RangeResult(history, o));
      for (const std::string& k : Covered(o, got, keys)) {
        auto v = got.find(k);
        Piece p = piece("read", "nil");
        p.output = Reg(v == got.end() ? Value() : v->second);
        parts[k].push_back(std::move(p));
      }
    } else if (o.f == "append") {
      return refuse("Knossos has no append model");
    } else {
      return refuse("model " + std::string(model) + " cannot judge it");
    }
  }

  std::vector<KnossosPart> out;
  for (const auto& [name, pieces] : parts) {
    out.push_back({name, PartEdn(pieces, &fresh), pieces.size(), !weakened.contains(name)});
  }
  return out;
}

Result<std::vector<KnossosFileVerdict>> RunKnossosOnFiles(const std::string& jar, const std::string& model,
                                                          const std::vector<std::string>& files,
                                                          std::string* output) {
  output->clear();
  if (!std::filesystem::exists(jar)) return MakeError("", 0, "--knossos-jar: no file at " + jar);
  std::vector<std::string> argv = {"java", "-jar", jar, "--model", model};
  argv.insert(argv.end(), files.begin(), files.end());
  int fds[2];
  if (pipe(fds) != 0) return MakeError("", 0, "knossos: cannot make a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Knossos logs on stderr while it prints verdicts on stdout: keep them apart.
  std::FILE* errors = std::tmpfile();
  if (!errors) {
    close(fds[0]);
    close(fds[1]);
    return MakeError("", 0, "knossos: cannot make a temporary file");
  }
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fileno(errors), 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, "java", &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    std::fclose(errors);
    return MakeError("", 0, "knossos: cannot run java (is a JDK on the PATH? Debian: default-jdk-headless)");
  }
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) output->append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string err;
  std::rewind(errors);
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, errors)) > 0;) err.append(buf, n);
  std::fclose(errors);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string said = *output + err;
    return MakeError("", 0, fmt::format("knossos: java -jar {} exited with status {}: {}", jar,
                                        WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                        said.substr(said.size() > 2000 ? said.size() - 2000 : 0)));
  }
  // Each file: "FILE\t{analysis...}" then the verdict alone on a line.
  std::map<std::string, Verdict> verdicts;
  std::set<std::string> wanted(files.begin(), files.end());
  std::string current;
  size_t pos = 0;
  while (pos < output->size()) {
    size_t end = output->find('\n', pos);
    if (end == std::string::npos) end = output->size();
    std::string_view line(output->data() + pos, end - pos);
    pos = end + 1;
    if (size_t tab = line.find('\t'); tab != std::string_view::npos && wanted.count(std::string(line.substr(0, tab)))) {
      current = std::string(line.substr(0, tab));
    } else if (!current.empty() && (line == "true" || line == "false" || line == ":unknown")) {
      verdicts[current] = line == "true" ? Verdict::kValid : line == "false" ? Verdict::kInvalid : Verdict::kUnknown;
      current.clear();
    }
  }
  std::vector<KnossosFileVerdict> out;
  for (const std::string& f : files) {
    auto it = verdicts.find(f);
    if (it == verdicts.end()) {
      return MakeError(f, 0, "knossos printed no verdict for this file; its stderr ends: " +
                                 err.substr(err.size() > 1000 ? err.size() - 1000 : 0));
    }
    out.push_back({f, it->second});
  }
  return out;
}

Result<KnossosResult> CheckWithKnossos(const std::string& jar, const History& history, std::string_view model,
                                       const std::string& dir) {
  KVLOG_ASSIGN_OR_RETURN(const auto parts, ExportForKnossos(history, model));
  KnossosResult result;
  result.parts = parts.size();
  if (parts.empty()) {
    result.verdict = Verdict::kValid;
    return result;
  }
  std::string tmpl = dir + "/kvcheck-knossos-XXXXXX";
  if (!mkdtemp(tmpl.data())) return MakeError(dir, 0, "cannot make a temporary folder for Knossos");
  const std::filesystem::path folder(tmpl);
  std::vector<std::string> files;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string file = (folder / fmt::format("part-{}.edn", i)).string();
    std::ofstream out(file, std::ios::binary);
    out << parts[i].edn;
    if (!out) {
      std::filesystem::remove_all(folder);
      return MakeError(file, 0, "cannot write a Knossos history");
    }
    files.push_back(file);
  }
  auto verdicts = RunKnossosOnFiles(jar, "cas-register", files, &result.output);
  std::error_code ec;
  std::filesystem::remove_all(folder, ec);
  KVLOG_RETURN_IF_ERROR(verdicts);
  bool invalid = false, unknown = false;
  for (size_t i = 0; i < verdicts->size(); ++i) {
    const std::string name = parts[i].name.empty() ? "the register" : "key " + parts[i].name;
    if ((*verdicts)[i].verdict == Verdict::kInvalid && !invalid) {
      invalid = true;
      result.detail = name + ": Knossos found no linearization";
    } else if ((*verdicts)[i].verdict == Verdict::kUnknown && !unknown && !invalid) {
      unknown = true;
      result.detail = name + ": Knossos could not decide";
    }
  }
  result.verdict = invalid ? Verdict::kInvalid : unknown ? Verdict::kUnknown : Verdict::kValid;
  return result;
}

}  // namespace kvlog::checker
