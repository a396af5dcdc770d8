// kvcheck beside Porcupine on the same files in the same run: the analysis
// time of each (parsing, pairing and process start-up excluded for both; the
// Porcupine oracle, tools/porcupine-oracle, times its own check), as ratios.
//
//   bash scripts/porcupine-oracle build
//   bazel run --config=opt //bench:oracle_bench -- --porcupine=PATH [--repetitions=5]
//
// Sets: Porcupine's c50-ok and c50-bad (model kv-append-per-key) and the
// Jepsen etcd histories (cas-register), from checker/testdata/reference. Passes
// are interleaved (kvcheck, then Porcupine, per set, per repetition); the
// table shows medians. Prints a Markdown table; exit status 1 if a verdict
// differs from the published one or either checker returns unknown.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "checker/linearizability.h"
#include "checker/testing/reference.h"

namespace {

using namespace kvlog::checker;

struct File {
  std::string path;  // relative to the reference directory
  std::string format;
  std::string model;
  bool linearizable;
  std::vector<Operation> ops;
  std::vector<double> ours_ms, theirs_ms;  // one per repetition
  std::vector<std::string> ours_verdicts, theirs_verdicts;
};

struct Set {
  std::string name;
  std::vector<File> files;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string Fmt(double ms) { return ms >= 100 ? fmt::format("{:.0f} ms", ms) : fmt::format("{:.1f} ms", ms); }

std::string Base(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

std::string Shell(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// One Porcupine pass over a set: one process, the check time of each file.
bool RunPorcupine(const std::string& binary, const std::string& dir, Set& set) {
  std::string cmd = Shell(binary) + " -timeout-ms 600000 -model " + set.files[0].model + " -format " +
                    (set.files[0].format == "jepsen-log" ? "jepsen-log" : "edn");
  for (const File& f : set.files) cmd += " " + Shell(dir + "/" + f.path);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  std::map<std::string, std::pair<std::string, double>> got;  // path -> verdict, ms
  std::stringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::stringstream ls(line);
    for (std::string f; std::getline(ls, f, '\t');) fields.push_back(f);
    if (fields.size() >= 5) got[fields[4]] = {fields[0], std::atof(fields[1].c_str()) / 1000.0};
  }
  for (File& f : set.files) {
    auto it = got.find(dir + "/" + f.path);
    if (it == got.end()) {
      fmt::print(stderr, "oracle_bench: Porcupine gave no verdict for {}:\n{}\n", f.path, out);
      return false;
    }
    f.theirs_verdicts.push_back(it->second.first);
    f.theirs_ms.push_back(it->second.second);
  }
  return true;
}

void RunKvcheck(Set& set, int threads) {
  for (File& f : set.files) {
    auto model = MakeModel(f.model);
    LinearizabilityOptions options;
    options.budget = std::chrono::milliseconds(600'000);
    options.threads = threads;
    auto t0 = std::chrono::steady_clock::now();
    LinearizabilityResult r = CheckLinearizability(f.ops, *model, options);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    f.ours_ms.push_back(ms);
    f.ours_verdicts.push_back(r.verdict == Verdict::kValid     ? "linearizable"
                              : r.verdict == Verdict::kInvalid ? "not-linearizable"
                                                               : "unknown");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string porcupine;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--porcupine=", 0) == 0) {
      porcupine = a.substr(12);
    } else if (a.rfind("--repetitions=", 0) == 0) {
      reps = std::atoi(a.c_str() + 14);
      if (reps < 1 || reps > 100) {
        fmt::print(stderr, "oracle_bench: --repetitions must be 1..100\n");
        return 2;
      }
    } else {
      fmt::print(stderr, "usage: oracle_bench --porcupine=PATH [--repetitions=N]\n");
      return 2;
    }
  }
  if (porcupine.empty()) {
    fmt::print(stderr, "oracle_bench: --porcupine=PATH is required (bash scripts/porcupine-oracle build prints it)\n");
    return 2;
  }
  auto dir = testing::ReferenceDir();
  auto rows = testing::LoadReferenceSet();
  if (!dir || !rows) {
    fmt::print(stderr, "oracle_bench: {}\n", (!dir ? dir.error() : rows.error()).ToString());
    return 2;
  }
  std::vector<Set> sets = {{"c50-ok", {}}, {"c50-bad", {}}, {"etcd", {}}};
  for (const char* name : {"c50-ok", "c50-bad"}) {
    File f{std::string("porcupine/kv/") + name + ".txt", "jepsen-edn-lines", "kv-append-per-key",
           std::string(name) == "c50-ok", {}, {}, {}, {}, {}};
    (name == std::string("c50-ok") ? sets[0] : sets[1]).files.push_back(std::move(f));
  }
  for (const auto& r : *rows) {
    if (r.path.rfind("porcupine/etcd/", 0) == 0) {
      sets[2].files.push_back({r.path, r.format, r.model, r.linearizable, {}, {}, {}, {}, {}});
    }
  }
  for (Set& set : sets) {
    for (File& f : set.files) {
      std::FILE* in = std::fopen((*dir + "/" + f.path).c_str(), "rb");
      if (!in) {
        fmt::print(stderr, "oracle_bench: cannot read {}\n", f.path);
        return 2;
      }
      std::string text;
      char buf[65536];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) text.append(buf, n);
      std::fclose(in);
      auto ops = testing::ReferenceOperations(text, f.path, f.format);
      if (!ops) {
        fmt::print(stderr, "oracle_bench: {}\n", ops.error().ToString());
        return 2;
      }
      f.ops = std::move(*ops);
    }
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int rep = 0; rep < reps; ++rep) {
    for (Set& set : sets) {
      RunKvcheck(set, threads);
      if (!RunPorcupine(porcupine, *dir, set)) return 2;
    }
    fmt::print(stderr, "oracle_bench: repetition {} of {} done\n", rep + 1, reps);
  }

  bool ok = true;
  fmt::print("| histories | Porcupine (Go) | kvcheck | kvcheck / Porcupine |\n| --- | --- | --- | --- |\n");
  for (Set& set : sets) {
    std::vector<double> ours_total(reps), theirs_total(reps);
    int slower = 0;
    double worst_ratio = 0;
    std::string worst_ratio_file;
    const File* ours_worst = nullptr;
    const File* theirs_worst = nullptr;
    for (const File& f : set.files) {
      for (int r = 0; r < reps; ++r) {
        ours_total[r] += f.ours_ms[r];
        theirs_total[r] += f.theirs_ms[r];
      }
      const double o = Median(f.ours_ms), t = Median(f.theirs_ms);
      if (o > t) ++slower;
      if (t > 0 && o / t > worst_ratio) {
        worst_ratio = o / t;
        worst_ratio_file = Base(f.path);
      }
      if (!ours_worst || o > Median(ours_worst->ours_ms)) ours_worst = &f;
      if (!theirs_worst || t > Median(theirs_worst->theirs_ms)) theirs_worst = &f;
      const std::string expected = f.linearizable ? "linearizable" : "not-linearizable";
      for (int r = 0; r < reps; ++r) {
        if (f.ours_verdicts[r] != expected || f.theirs_verdicts[r] != expected) {
          fmt::print(stderr, "oracle_bench: {}: published {}, kvcheck {}, Porcupine {}\n", f.path, expected,
                     f.ours_verdicts[r], f.theirs_verdicts[r]);
          ok = false;
        }
      }
    }
    const double o = Median(ours_total), t = Median(theirs_total);
    const std::string ratio = fmt::format("{:.2f}x", t > 0 ? o / t : 0.0);
    if (set.files.size() == 1) {
      fmt::print("| `{}` ({} ops) | {} | {} | {} |\n", Base(set.files[0].path), set.files[0].ops.size(), Fmt(t),
                 Fmt(o), ratio);
    } else {
      fmt::print("| {} Jepsen {} histories (cas-register), in all | {}; worst {} {} | {}; worst {} {} | {} |\n",
                 set.files.size(), set.name, Fmt(t), Base(theirs_worst->path), Fmt(Median(theirs_worst->theirs_ms)),
                 Fmt(o), Base(ours_worst->path), Fmt(Median(ours_worst->ours_ms)), ratio);
      fmt::print("| {}: histories where kvcheck is slower than Porcupine | | {} of {} | worst {:.2f}x ({}) |\n",
                 set.name, slower, set.files.size(), worst_ratio, worst_ratio_file);
    }
  }
  fmt::print("\nMedians of {} interleaved repetitions; analysis time only (kvcheck: CheckLinearizability with {} "
             "threads; Porcupine: CheckEventsTimeout, GOMAXPROCS default). Verdicts {} the published ones.\n",
             reps, threads, ok ? "all equal" : "NOT all equal to");
  return ok ? 0 : 1;
}
