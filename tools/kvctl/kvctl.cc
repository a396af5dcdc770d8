// kvctl: a command-line client for kvlog.
//
//   kvctl --brokers 127.0.0.1:29092 --topic users put user/1 ada
//   kvctl --brokers 127.0.0.1:29092 --topic users get user/1
//   kvctl --brokers 127.0.0.1:29092 put photo/1 - <photo.jpg
//   kvctl --brokers 127.0.0.1:29092 --encoding base64 --json range --prefix photo/
//   printf 'a\t1\nb\t2\n' | kvctl --brokers 127.0.0.1:29092 batch
//   kvctl get --version user/1                 # the version cas expects: 7
//   kvctl cas user/1 7 bob                     # put only if user/1 is still at version 7
//   kvctl setnx lock/1 me                      # put only if lock/1 has no value
//   kvctl get --read=linearizable user/1       # sees every write acknowledged before it began
//   printf 'version(a) = 7\nabsent(b)\n\nput a 1\nput b 2\n\ndel c\n' | kvctl txn
//
// Without --brokers it starts an embedded mock cluster for the one command
// (handy for trying the commands; its data ends with the process).
// Each run replays the topic into memory first, then runs one command; the
// whole run, replay included, is bounded by --timeout. With --store PATH the
// state lives in a durable store there instead (RocksDB, or LMDB with
// --store-engine lmdb; an existing store's engine is detected), and a run
// replays only the topic past the store's position:
//
//   kvctl --brokers B --store /var/lib/kv/users snapshot /backup/users-1   # checkpoint
//   kvctl --brokers B --store /var/lib/kv/replica2 restore /backup/users-1  # a new replica
//   kvctl --brokers B --store-engine lmdb --store /var/lib/kv/users3 get k  # a new LMDB store
//
// Keys and values are bytes. In arguments, batch lines, range lines and --json
// they are written in --encoding (escaped by default, see encoding.h); the
// plain output of `get`, a value read with `put KEY -` or --value-file, and
// `get --value-file` are the raw bytes.
//
// Exit codes: 0 ok, 1 key not found, 2 usage or invalid input (nothing was
// written), 3 broker or log error, including --timeout, 4 a condition was
// false where the log placed the write (kConflict: cas, del-if and setnx wrote
// nothing; a txn applied its failure writes); stdout then says CONFLICT with
// the key's current version (or FAILURE for a txn). Messages go to stderr;
// results to stdout.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/options.h"
#include "kv/lmdb/lmdb_storage.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "log/kafka/cluster_probe.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"
#include "tools/cli/cli.h"
#include "tools/kvctl/encoding.h"
#include "tools/kvctl/syntax.h"

namespace {

using kvlog::Error;
using kvlog::ErrorCode;
using kvlog::kvctl::Encoding;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = kvlog::cli::kExitOk;
constexpr int kExitNotFound = kvlog::cli::kExitFailed;
constexpr int kExitUsage = kvlog::cli::kExitUsage;
constexpr int kExitLogError = kvlog::cli::kExitEnvironment;
// A conditional write's condition was false (ErrorCode::kConflict), or a
// txn's compares did not all hold.
constexpr int kExitConflict = 4;
constexpr const char* kSubcommands = "kvctl has put, get, del, range, batch, cas, del-if, setnx, txn, stats, snapshot and restore";
// A batch line longer than this is refused rather than buffered without end.
constexpr std::size_t kMaxBatchLineBytes = 4 * 1024 * 1024;
// An argument quoted in an error message is cut to this many bytes.
constexpr std::size_t kMaxShownArgBytes = 80;
// The largest value read from stdin or a file: kv's own limit.
constexpr std::size_t kMaxValueBytes = kvlog::kv::Limits::kDefaultMaxValueBytes;
// The largest replication factor Kafka accepts (an int16).
constexpr int kMaxReplicationFactor = 32'767;
// A topic kvctl creates gets min(this, brokers) replicas unless told.
constexpr int kDefaultMaxReplicas = 3;
// How long past --timeout the watchdog lets a step report its own timeout
// before it ends the process.
constexpr auto kWatchdogGrace = std::chrono::milliseconds(500);
// message.timeout.ms is at least linger.ms plus this, however little of
// --timeout is left.
constexpr auto kMinDeliveryMargin = std::chrono::milliseconds(100);
// How often the watchdog looks for SIGINT.
constexpr auto kInterruptCheckInterval = std::chrono::milliseconds(50);

struct Flags {
  std::string brokers;
  std::string topic = "kvlog";
  int replication_factor = 0;  // 0: min(3, brokers).
  int timeout_ms = 30'000;
  bool json = false;
  bool verbose = false;
  bool allow_unsafe_acks = false;
  std::string encoding_name = "escaped";
  Encoding encoding = Encoding::kEscaped;
  std::vector<std::pair<std::string, std::string>> properties;  // -X name=value
  std::string key, value;  // As given (encoded).
  std::string value_file;  // put: read the value from it; get: write the value to it.
  std::string prefix, start, end;
  bool has_prefix = false, has_start = false, has_end = false;
  std::size_t limit = 0;
  std::string expected_version;  // cas, del-if: as given.
  std::string read = "local";    // get, range: --read.
  bool print_version = false;    // get --version.
  int64_t ttl_ms = 0;  // put --ttl: 0 = no TTL.
  bool prometheus = false;  // stats: the Prometheus text format.
  std::string store;       // --store: a durable store instead of memory.
  std::string store_engine = "auto";  // --store-engine: auto, rocksdb or lmdb.
  bool rebuild_store = false;
  std::string dir;         // snapshot: the checkpoint to write; restore: the one to start from.
};

// Ends the process once the whole command has run past --timeout, whatever
// step it is stuck in (a librdkafka call, the start-up replay, stdin), and on
// SIGINT, saying which step it was in and whether a write may have happened.
class Watchdog {
 public:
  Watchdog(Clock::time_point deadline, int timeout_ms) : timeout_ms_(timeout_ms) {
    kvlog::cli::InstallInterruptHandler();
    thread_ = std::thread([this, deadline] { Run(deadline + kWatchdogGrace); });
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // `phase` must outlive the watchdog. `writing`: a write may be in flight.
  void SetPhase(const char* phase, bool writing = false) {
    writing_.store(writing);
    phase_.store(phase);
  }
  // The command's result is out: past the deadline, exit with this code.
  void SetExitCode(int code) { exit_code_.store(code); }

 private:
  void Run(Clock::time_point at) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const auto wake = std::min(at, Clock::now() + kInterruptCheckInterval);
      if (cv_.wait_until(lock, wake, [this] { return stopped_; })) return;
      if (kvlog::cli::Interrupted()) {
        fmt::print(stderr, "kvctl: interrupted while {}; {}\n", phase_.load(),
                   exit_code_.load() >= 0 ? "the command had finished"
                   : writing_.load()      ? "the write may or may not have been applied"
                                          : "nothing was written");
        Exit(kvlog::cli::kExitInterrupted);
      }
      if (Clock::now() >= at) break;
    }
    if (exit_code_.load() >= 0) Exit(exit_code_.load());
    fmt::print(stderr, "kvctl: timed out: --timeout {} ms passed while {}{}\n", timeout_ms_, phase_.load(),
               writing_.load() ? "; the write may or may not have been applied" : "");
    Exit(kExitLogError);
  }

  [[noreturn]] static void Exit(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(code);
  }

  const int timeout_ms_;
  std::atomic<const char*> phase_{"starting"};
  std::atomic<bool> writing_{false};
  std::atomic<int> exit_code_{-1};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

int ExitFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kConflict: return kExitConflict;
    default: return kExitLogError;
  }
}

int Fail(const Error& error, const std::string& what, const Flags& f) {
  std::cerr << "kvctl: " << (what.empty() ? "" : what + ": ") << error.ToString();
  if (error.code() == ErrorCode::kTimeout) std::cerr << " (--timeout " << f.timeout_ms << " ms bounds the command)";
  std::cerr << "\n";
  return ExitFor(error);
}

// The engine of the store (or checkpoint) in `dir`: "rocksdb", "lmdb", or
// empty when it holds neither (or does not exist).
std::string StoreEngineOf(const std::string& dir) {
  std::error_code ec;
  if (kvlog::kv::lmdb::IsLmdbStore(dir)) return "lmdb";
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) return "rocksdb";
  return "";
}

int Usage(const std::string& message) {
  std::cerr << "kvctl: " << message << "\nRun with --help for the options.\n";
  return kExitUsage;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::strict); }

// Reads all of `file` (binary), refusing more than kMaxValueBytes.
std::optional<std::string> ReadValue(std::FILE* file, const std::string& what, std::string* error) {
  std::string out;
  char buffer[64 * 1024];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    out.append(buffer, n);
    if (out.size() > kMaxValueBytes) {
      *error = fmt::format("{} is longer than {} bytes, kvlog's value limit", what, kMaxValueBytes);
      return std::nullopt;
    }
    if (n < sizeof buffer) break;
  }
  if (std::ferror(file)) {
    *error = "cannot read " + what + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return out;
}

// Decodes an argument given in --encoding, or says which and why not.
std::optional<std::string> DecodeArg(const Flags& f, const std::string& what, const std::string& text,
                                     std::string* error) {
  auto bytes = kvlog::kvctl::Decode(text, f.encoding);
  if (!bytes) {
    const std::string shown = text.size() <= kMaxShownArgBytes ? text : text.substr(0, kMaxShownArgBytes) + "...";
    *error = what + " '" + shown + "' is not valid --encoding " + f.encoding_name + " text: " + bytes.error();
    return std::nullopt;
  }
  return std::move(*bytes);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kvlog;
  namespace cli = kvlog::cli;
  const auto started = Clock::now();
  Flags f;
  CLI::App app{"kvctl: a command-line client for kvlog, a key-value store on a single-partition Kafka topic.\n"
               "Keys and values are bytes: in arguments, batch lines, range lines and --json they are written in\n"
               "--encoding; `get` prints the raw value. Each run replays the topic, then runs one command.",
               "kvctl"};
  cli::Setup(app, {{kExitNotFound, "key not found (get)"},
                   {kExitUsage, "usage error or invalid input (bad option, number or encoding; nothing was written)"},
                   {kExitLogError, "broker or log error: unreachable, refused, topic unusable, or --timeout passed"},
                   {kExitConflict, "condition false (cas, del-if, setnx: nothing written; txn: its failure writes "
                                   "applied); stdout names the key's current version"},
                   {cli::kExitInterrupted, "interrupted (SIGINT); stderr names the step and whether a write may have happened"}});
  app.set_help_all_flag("--help-all", "help for every subcommand");
  app.require_subcommand(0, 1);
  app.add_option("-b,--brokers", f.brokers,
                 "bootstrap servers, host:port[,host:port...]; empty: an embedded mock cluster for this command");
  app.add_option("-t,--topic", f.topic, "topic holding the store (one partition)");
  cli::AddNumber(app, "--replication-factor", f.replication_factor,
                 "replication factor of a topic kvctl creates; 0: min(3, brokers in the cluster)", 0,
                 kMaxReplicationFactor);
  cli::AddNumber(app, "--timeout", f.timeout_ms,
                 "deadline in ms for the whole command: connecting, replaying the topic and the command", 1,
                 3'600'000);
  app.add_option("-e,--encoding", f.encoding_name,
                 "how keys and values are written in arguments, batch and range lines and --json: escaped (text as "
                 "is; \\\\ \\t \\n \\r \\xHH for the rest), hex or base64")
      ->check(CLI::IsMember({"escaped", "hex", "base64"}));
  cli::AddKeyValues(app, "-X", f.properties, "raw librdkafka property name=value (repeatable)");
  app.add_flag("--allow-unsafe-acks", f.allow_unsafe_acks,
               "accept -X acks other than all or enable.idempotence=false, which can lose acknowledged writes "
               "(kvlog then reports a lost write as DataLoss where it sees one)");
  app.add_flag("--json", f.json, "print results as JSON");
  app.add_flag("-v,--verbose", f.verbose, "show librdkafka's warnings, and where a --store resumed");
  app.add_option("--store", f.store,
                 "keep the state in a durable store in this directory (created if missing) instead of memory; a run "
                 "replays only the topic past the store's position");
  app.add_option("--store-engine", f.store_engine,
                 "the --store's engine: rocksdb, lmdb (a faster open; keys up to 510 bytes), or auto (default): the "
                 "engine of the existing store or of restore's checkpoint, rocksdb for a new one")
      ->check(CLI::IsMember({"auto", "rocksdb", "lmdb"}));
  app.add_flag("--rebuild-store", f.rebuild_store,
               "when the --store does not fit the topic (another topic or cluster, past its end, records it never "
               "applied deleted), empty it and replay the whole topic instead of failing");

  auto* put = app.add_subcommand("put", "set KEY to VALUE ('-': the bytes of stdin)");
  put->add_option("key", f.key, "key")->required();
  auto* put_value = put->add_option("value", f.value, "value; '-' reads it from stdin, as raw bytes");
  auto* put_file =
      put->add_option("--value-file", f.value_file, "read the value's raw bytes from this file instead");
  cli::AddNumber(*put, "--ttl", f.ttl_ms,
                 "expire the value this many milliseconds from now by this machine's wall clock (0: never)",
                 int64_t{0}, int64_t{100} * 365 * 24 * 3600 * 1000);
  auto* get = app.add_subcommand("get", "print the value of KEY, raw, with a newline (exit 1 if missing)");
  get->add_option("key", f.key, "key")->required();
  auto* get_file = get->add_option("--value-file", f.value_file,
                                   "write the value's raw bytes, without a newline, to this file ('-': stdout)");
  get->add_flag("--version", f.print_version,
                "print the key's version (the offset of its last write: what cas and del-if expect) instead of its "
                "value");
  const std::string read_help =
      "read level: local (this client's replay, the default), linearizable (every write acknowledged before the "
      "read began), bounded:N (at most N records behind the log's end), at_least:POSITION (reflects the write at "
      "offset POSITION, as a write prints it)";
  get->add_option("--read", f.read, read_help);
  auto* del = app.add_subcommand("del", "delete KEY");
  del->add_option("key", f.key, "key")->required();
  auto* range = app.add_subcommand("range", "print keys and values in key order (key<TAB>value, encoded)");
  range->add_option("--prefix", f.prefix, "keys beginning with this");
  range->add_option("--start", f.start, "first key (inclusive)");
  range->add_option("--end", f.end, "last key (exclusive)");
  cli::AddNumber(*range, "--limit", f.limit, "at most this many (0: all)");
  range->add_option("--read", f.read, read_help);
  auto* batch = app.add_subcommand("batch", "apply key<TAB>value lines (encoded) from stdin as one batch");
  auto* stats = app.add_subcommand(
      "stats", "print the client's figures after the replay: applied position, end offset and lag, counts, keys");
  stats->add_flag("--prometheus", f.prometheus, "in the Prometheus text format");
  auto* cas = app.add_subcommand(
      "cas", "set KEY to VALUE only if its version is EXPECTED_VERSION (exit 4 and its current version if not)");
  cas->add_option("key", f.key, "key")->required();
  cas->add_option("expected_version", f.expected_version, "the version from get --version or a write's offset")
      ->required();
  cas->add_option("value", f.value, "value")->required();
  auto* del_if = app.add_subcommand("del-if", "delete KEY only if its version is EXPECTED_VERSION (exit 4 if not)");
  del_if->alias("delete-if");
  del_if->add_option("key", f.key, "key")->required();
  del_if->add_option("expected_version", f.expected_version, "the version from get --version")->required();
  auto* setnx = app.add_subcommand("setnx", "set KEY to VALUE only if KEY has no value (exit 4 if it has)");
  setnx->add_option("key", f.key, "key")->required();
  setnx->add_option("value", f.value, "value")->required();
  auto* txn = app.add_subcommand(
      "txn",
      "an atomic transaction from stdin, as etcdctl's: compares, an empty line, the writes if they all hold, an "
      "empty line, the writes otherwise. Compares: version(KEY) = N, absent(KEY), present(KEY); writes: put KEY "
      "VALUE, del KEY. Prints SUCCESS or FAILURE (exit 4)");
  auto* snapshot = app.add_subcommand(
      "snapshot", "write a consistent copy (a RocksDB checkpoint or an LMDB copy) of the --store, caught up with "
                  "the topic, into DIR");
  snapshot->add_option("dir", f.dir, "directory to create (must not exist)")->required();
  auto* restore = app.add_subcommand(
      "restore", "make --store PATH (must not exist) a copy of the checkpoint DIR, then replay only the topic past "
                 "the checkpoint's position");
  restore->add_option("dir", f.dir, "a checkpoint written by snapshot")->required();
  // Extras on the top level only, so that an unknown subcommand can be named.
  app.allow_extras();
  for (CLI::App* sub : {put, get, del, range, batch, cas, del_if, setnx, txn, stats, snapshot, restore}) sub->allow_extras(false);

  if (auto rc = cli::Parse(app, argc, argv)) return *rc;
  if (!app.remaining().empty()) {
    const std::string first = app.remaining().front();
    if (app.get_subcommands().empty() && !first.starts_with("-")) {
      return Usage("unknown subcommand '" + first + "'; " + kSubcommands);
    }
    return Usage((first.starts_with("-") ? "unknown option '" : "unexpected argument '") + first + "'");
  }
  if (app.get_subcommands().empty()) return Usage(std::string("no subcommand given; ") + kSubcommands);
  if ((snapshot->parsed() || restore->parsed()) && f.store.empty()) {
    return Usage(std::string(snapshot->parsed() ? "snapshot" : "restore") + " needs --store PATH (" +
                 (snapshot->parsed() ? "the store it copies" : "the new store to make from the checkpoint") + ")");
  }
  if (restore->parsed()) {
    std::error_code ec;
    if (std::filesystem::exists(f.store, ec)) {
      return Usage("restore makes a new --store; '" + f.store + "' already exists");
    }
    if (StoreEngineOf(f.dir).empty()) {
      return Usage("restore: '" + f.dir + "' is not a checkpoint (no RocksDB CURRENT file, no LMDB data.mdb in it)");
    }
  }
  if (!f.store.empty()) {
    // The engine: the existing store's (or the checkpoint's), which an
    // explicit --store-engine must match; rocksdb for a new store.
    const std::string found = StoreEngineOf(restore->parsed() ? f.dir : f.store);
    if (f.store_engine == "auto") {
      f.store_engine = found.empty() ? "rocksdb" : found;
    } else if (!found.empty() && found != f.store_engine) {
      return Usage(fmt::format("--store-engine {}: '{}' holds a {} {}", f.store_engine,
                               restore->parsed() ? f.dir : f.store, found,
                               restore->parsed() ? "checkpoint" : "store"));
    }
  } else if (f.store_engine != "auto") {
    return Usage("--store-engine needs --store PATH");
  }
  if (snapshot->parsed()) {
    std::error_code ec;
    if (std::filesystem::exists(f.dir, ec)) return Usage("snapshot: '" + f.dir + "' already exists (it must not)");
  }
  f.encoding = *kvctl::ParseEncoding(f.encoding_name);
  f.has_prefix = range->count("--prefix") > 0;
  f.has_start = range->count("--start") > 0;
  f.has_end = range->count("--end") > 0;
  if (f.has_prefix && (f.has_start || f.has_end)) return Usage("range takes --prefix or --start/--end, not both");
  if (put->parsed() && (put_value->count() > 0) == (put_file->count() > 0)) {
    return Usage("put takes a VALUE ('-' for stdin) or --value-file PATH, exactly one");
  }
  if (stats->parsed() && f.json && f.prometheus) return Usage("stats takes --json or --prometheus, not both");
  if (get->parsed() && f.json && get_file->count() > 0 && f.value_file == "-") {
    return Usage("get --value-file - writes the raw value to stdout; it does not mix with --json");
  }
  if (get->parsed() && f.print_version && get_file->count() > 0) {
    return Usage("get --version prints the version instead of the value; it does not take --value-file");
  }
  auto read_level = kvctl::ParseReadLevel(f.read);
  if (!read_level) return Usage(read_level.error());
  int64_t expected_version = 0;
  if (cas->parsed() || del_if->parsed()) {
    auto v = cli::ParseInt(f.expected_version, 0, std::numeric_limits<int64_t>::max());
    if (!v) {
      return Usage("EXPECTED_VERSION '" + f.expected_version + "': " + v.error() +
                   " (a version is an offset, as get --version prints it; for a missing key use setnx)");
    }
    expected_version = *v;
  }

  // Every input is read and checked before kvctl touches the cluster. The
  // watchdog starts now: --timeout bounds reading stdin too.
  const auto deadline = started + std::chrono::milliseconds(f.timeout_ms);
  // Phase names the watchdog may print; they outlive it.
  const std::string connect_phase = "connecting to " + f.brokers;
  const std::string run_phase = "running " + app.get_subcommands().front()->get_name();
  Watchdog watchdog(deadline, f.timeout_ms);
  std::string error;
  std::string key, value, prefix, start, end;
  if (put->parsed() || get->parsed() || del->parsed() || cas->parsed() || del_if->parsed() || setnx->parsed()) {
    auto k = DecodeArg(f, "key", f.key, &error);
    if (!k) return Usage(error);
    key = std::move(*k);
  }
  if (cas->parsed() || setnx->parsed()) {
    auto v = DecodeArg(f, "value", f.value, &error);
    if (!v) return Usage(error);
    value = std::move(*v);
  }
  if (put->parsed()) {
    if (put_file->count() > 0 || f.value == "-") {
      const bool from_stdin = put_file->count() == 0 || f.value_file == "-";
      if (from_stdin) {
        watchdog.SetPhase("reading the value from stdin");
        if (cli::IsTerminal(stdin)) std::cerr << "kvctl: reading the value from stdin (end it with Ctrl-D)\n";
        auto v = ReadValue(stdin, "the value on stdin", &error);
        if (!v) return Usage(error);
        value = std::move(*v);
      } else {
        const std::string path = cli::ResolvePath(f.value_file);
        std::FILE* file = std::fopen(path.c_str(), "rb");
        if (file == nullptr) return Usage("--value-file: cannot open " + path + ": " + std::strerror(errno));
        auto v = ReadValue(file, path, &error);
        std::fclose(file);
        if (!v) return Usage("--value-file: " + error);
        value = std::move(*v);
      }
    } else {
      auto v = DecodeArg(f, "value", f.value, &error);
      if (!v) return Usage(error);
      value = std::move(*v);
    }
  }
  for (auto [has, text, out, what] : {std::tuple{f.has_prefix, &f.prefix, &prefix, "--prefix"},
                                      std::tuple{f.has_start, &f.start, &start, "--start"},
                                      std::tuple{f.has_end, &f.end, &end, "--end"}}) {
    if (!has) continue;
    auto bytes = DecodeArg(f, what, *text, &error);
    if (!bytes) return Usage(error);
    *out = std::move(*bytes);
  }
  std::vector<std::pair<std::string, std::string>> batch_lines;
  if (batch->parsed()) {
    watchdog.SetPhase("reading batch lines from stdin");
    if (cli::IsTerminal(stdin)) std::cerr << "kvctl: reading key<TAB>value lines from stdin (end with Ctrl-D)\n";
    std::string line;
    std::size_t number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (line.size() > kMaxBatchLineBytes) {
        return Usage(fmt::format("batch line {} is longer than {} bytes", number, kMaxBatchLineBytes));
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      auto tab = line.find('\t');
      if (tab == std::string::npos) {
        return Usage(fmt::format("batch line {} has no TAB; expected key<TAB>value", number));
      }
      const std::string where = fmt::format("batch line {}: ", number);
      auto k = DecodeArg(f, where + "key", line.substr(0, tab), &error);
      if (!k) return Usage(error);
      auto v = DecodeArg(f, where + "value", line.substr(tab + 1), &error);
      if (!v) return Usage(error);
      batch_lines.emplace_back(std::move(*k), std::move(*v));
    }
  }

  kvctl::TxnSpec txn_spec;
  if (txn->parsed()) {
    watchdog.SetPhase("reading the transaction from stdin");
    if (cli::IsTerminal(stdin)) {
      std::cerr << "kvctl: reading a transaction from stdin: compares, an empty line, the writes if they hold, an "
                   "empty line, the writes otherwise (end with Ctrl-D)\n";
    }
    auto text = ReadValue(stdin, "the transaction on stdin", &error);
    if (!text) return Usage(error);
    auto spec = kvctl::ParseTxn(*text, f.encoding);
    if (!spec) return Usage("txn: " + spec.error());
    txn_spec = std::move(*spec);
  }

  // The time left of --timeout for the next step; a step that starts with
  // none left fails at once.
  const auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
  };
  const auto out_of_time = [&](const std::string& step) -> std::optional<int> {
    if (Clock::now() < deadline) return std::nullopt;
    std::cerr << "kvctl: timed out: --timeout " << f.timeout_ms << " ms passed before " << step << "\n";
    return kExitLogError;
  };

  std::unique_ptr<log::kafka::MockCluster> mock;
  log::kafka::KafkaOptions options;
  if (f.brokers.empty()) {
    watchdog.SetPhase("starting the embedded mock cluster");
    auto cluster = log::kafka::MockCluster::Start({.brokers = 1, .topic = f.topic});
    if (!cluster) return Fail(cluster.error(), "cannot start the embedded mock cluster", f);
    mock = std::move(*cluster);
    options = mock->LogOptions();
    std::cerr << "kvctl: no --brokers: using an embedded mock cluster at " << mock->bootstrap()
              << " (its data ends with this command)\n";
  } else {
    options.brokers = f.brokers;
    options.topic = f.topic;
  }
  options.client_id = "kvctl";
  if (!f.verbose) options.logger = nullptr;
  options.properties = f.properties;
  options.allow_unsafe_acks = f.allow_unsafe_acks;

  bool topic_was_missing = false;
  if (!mock) {
    // Fails fast with librdkafka's cause when no broker can be reached, and
    // counts the brokers for the replication factor of a topic to create.
    if (auto rc = out_of_time("connecting")) return *rc;
    watchdog.SetPhase(connect_phase.c_str());
    auto info = log::kafka::ProbeCluster(options, remaining());
    if (!info) return Fail(info.error(), "", f);
    if (!info->topic_partitions) {
      topic_was_missing = true;
      const bool chosen = f.replication_factor > 0;
      options.replication_factor = chosen ? f.replication_factor : std::min(kDefaultMaxReplicas, info->brokers);
      std::cerr << "kvctl: topic '" << f.topic << "' does not exist; creating it with 1 partition and replication "
                << "factor " << options.replication_factor << " ("
                << (chosen ? std::string("--replication-factor")
                           : fmt::format("min(3, {} broker{} in the cluster); choose with --replication-factor",
                                         info->brokers, info->brokers == 1 ? "" : "s"))
                << ")\n";
    } else if (f.replication_factor > 0 && info->topic_replicas &&
               *info->topic_replicas != f.replication_factor) {
      std::cerr << "kvctl: topic '" << f.topic << "' exists with replication factor " << *info->topic_replicas
                << "; --replication-factor " << f.replication_factor << " applies only to a topic kvctl creates\n";
    }
  }

  // A durable store opens before the log: what it kept of its last run lets
  // the log's first reader start at the store's resume point and connect to
  // the partition's leader first (kv::Client::HintsFor).
  std::unique_ptr<kv::Storage> storage;
  if (f.store.empty()) {
    storage = kv::NewMemoryStorage();
  } else {
    if (auto rc = out_of_time("opening the store")) return *rc;
    watchdog.SetPhase("opening the store");
    if (restore->parsed()) {
      std::error_code ec;
      std::filesystem::copy(f.dir, f.store, std::filesystem::copy_options::recursive, ec);
      if (ec) {
        std::cerr << "kvctl: restore: copying '" << f.dir << "' to '" << f.store << "': " << ec.message() << "\n";
        return kExitLogError;
      }
    }
    if (f.store_engine == "lmdb") {
      auto store = kv::lmdb::OpenLmdbStorage({.path = f.store});
      if (!store) return Fail(store.error(), "--store", f);
      storage = std::move(*store);
    } else {
      auto store = kv::rocksdb::OpenRocksDbStorage({.path = f.store});
      if (!store) return Fail(store.error(), "--store", f);
      storage = std::move(*store);
    }
    const kv::Client::LogHints hints = kv::Client::HintsFor(*storage);
    options.first_read_offset = hints.first_read_offset;
    options.reconnect_hint = hints.reconnect_hint;
    // The resume's connection and fetch first; the producer after the replay
    // (a command that only reads never makes one).
    options.defer_producer = true;
  }

  if (auto rc = out_of_time("opening the topic")) return *rc;
  watchdog.SetPhase("opening the topic");
  options.admin_timeout = remaining();
  // librdkafka refuses a message.timeout.ms not above linger.ms; the few ms
  // this may add past the deadline are the watchdog's to cut.
  options.delivery_timeout = std::max(remaining(), options.linger + kMinDeliveryMargin);
  options.request_timeout = std::min(options.request_timeout, options.delivery_timeout);
  auto log = log::kafka::OpenKafkaLog(options);
  if (!log) {
    const int code = Fail(log.error(), "cannot open topic '" + f.topic + "' on " + options.brokers, f);
    if (topic_was_missing && log.error().code() == ErrorCode::kFailedPrecondition) {
      // librdkafka's mock cluster creates a topic a client looks up by name,
      // with 4 partitions, whatever AllowAutoTopicCreation says.
      auto after = log::kafka::ProbeCluster(options, remaining());
      if (after && after->topic_partitions.value_or(1) != 1) {
        std::cerr << "kvctl: the topic did not exist a moment ago: the cluster created it with "
                  << *after->topic_partitions << " partitions when it was looked up (librdkafka's mock does; "
                  << "with kvmock, start it with --topic " << f.topic << ")\n";
      }
    }
    return code;
  }

  if (auto rc = out_of_time("replaying the topic")) return *rc;
  watchdog.SetPhase("replaying the topic");
  kv::ClientOptions client_options;
  client_options.client_id = "kvctl";
  client_options.default_timeout = remaining();
  client_options.startup_timeout = remaining();
  client_options.rebuild_mismatched_store = f.rebuild_store;
  auto opened = kv::Client::Open(std::move(*log), std::move(storage), client_options);
  if (!opened) return Fail(opened.error(), "cannot load topic '" + f.topic + "'", f);
  kv::Client& client = **opened;
  if (!f.store.empty() && (f.verbose || restore->parsed())) {
    std::cerr << "kvctl: store '" << f.store << "' resumed from position " << client.resumed_from()
              << ", replayed to " << client.AppliedPosition() << "\n";
  }

  if (auto rc = out_of_time("running the command")) return *rc;
  watchdog.SetPhase(run_phase.c_str(), put->parsed() || del->parsed() || batch->parsed() || cas->parsed() ||
                                           del_if->parsed() || setnx->parsed() || txn->parsed());
  kv::CallOptions call;
  call.timeout = remaining();
  const auto enc = [&](std::string_view bytes) { return kvctl::Encode(bytes, f.encoding); };
  const auto print_ok = [&](json j, const std::string& plain) {
    if (f.json) {
      j["ok"] = true;
      std::cout << Dump(j) << "\n";
    } else {
      std::cout << plain << "\n";
    }
  };
  int rc = kExitOk;
  if (put->parsed()) {
    kv::CallOptions put_call = call;
    put_call.ttl = std::chrono::milliseconds(f.ttl_ms);
    auto r = client.Put(key, value, put_call);
    if (!r) return Fail(r.error(), "put", f);
    print_ok({{"op", "put"}, {"key", enc(key)}, {"offset", *r}}, "OK");
  } else if (del->parsed()) {
    auto r = client.Delete(key, call);
    if (!r) return Fail(r.error(), "del", f);
    print_ok({{"op", "del"}, {"key", enc(key)}, {"offset", *r}}, "OK");
  } else if (get->parsed()) {
    kv::ReadInfo info;
    auto entry = client.GetEntry(key, kv::ReadOptions{.level = *read_level, .timeout = remaining()}, &info);
    Result<std::string> r = entry ? Result<std::string>(std::move(entry->value)) : std::unexpected(entry.error());
    const auto found_json = [&](const std::string& value) {
      json j = {{"key", enc(key)}, {"found", true}, {"value", enc(value)}, {"version", entry->version}};
      if (read_level->kind != kv::ReadLevel::Kind::kLocal) j["position"] = info.position;
      return j;
    };
    if (!r) {
      if (r.error().code() != ErrorCode::kNotFound) return Fail(r.error(), "get", f);
      if (f.json) std::cout << Dump({{"key", enc(key)}, {"found", false}}) << "\n";
      std::cerr << "kvctl: key '" << enc(key) << "' not found\n";
      rc = kExitNotFound;
    } else if (f.print_version) {
      if (f.json) {
        std::cout << Dump(found_json(*r)) << "\n";
      } else {
        std::cout << entry->version << "\n";
      }
    } else if (get_file->count() > 0) {
      if (f.value_file == "-") {
        std::cout.write(r->data(), static_cast<std::streamsize>(r->size()));
      } else if (auto w = cli::WriteFile(cli::ResolvePath(f.value_file), *r); !w) {
        std::cerr << "kvctl: --value-file: " << w.error() << "\n";
        return kExitLogError;
      }
      if (f.json) std::cout << Dump(found_json(*r)) << "\n";
    } else if (f.json) {
      std::cout << Dump(found_json(*r)) << "\n";
    } else {
      std::cout.write(r->data(), static_cast<std::streamsize>(r->size()));
      std::cout << "\n";
    }
  } else if (range->parsed()) {
    kv::QueryOptions query;
    query.limit = f.limit;
    query.versions = f.json;
    kv::KeyConstraint c = kv::Prefix(prefix);
    if (!f.has_prefix) {
      c.start = start;
      c.end = f.has_end ? std::optional<std::string>(end) : std::nullopt;
    }
    Result<std::vector<kv::KeyValue>> r =
        client.Range(c, query, kv::ReadOptions{.level = *read_level, .timeout = remaining()});
    if (!r) return Fail(r.error(), "range", f);
    if (f.json) {
      json out = json::array();
      for (const auto& kv : *r) {
        out.push_back({{"key", enc(kv.key)}, {"value", enc(kv.value)}, {"version", kv.version}});
      }
      std::cout << Dump(out) << "\n";
    } else {
      for (const auto& kv : *r) std::cout << enc(kv.key) << "\t" << enc(kv.value) << "\n";
    }
  } else if (snapshot->parsed()) {
    auto r = client.Checkpoint(f.dir);
    if (!r) return Fail(r.error(), "snapshot", f);
    print_ok({{"op", "snapshot"}, {"dir", f.dir}, {"position", *r}}, fmt::format("OK checkpoint at position {}", *r));
  } else if (restore->parsed()) {
    print_ok({{"op", "restore"}, {"store", f.store}, {"resumed_from", client.resumed_from()},
              {"position", client.AppliedPosition()}},
             fmt::format("OK restored at position {}, replayed to {}", client.resumed_from(),
                         client.AppliedPosition()));
  } else if (batch->parsed()) {
    auto writes = client.Batch();
    for (const auto& [k, v] : batch_lines) writes.Put(k, v);
    auto r = writes.Execute(call);
    if (!r) return Fail(r.error(), "batch", f);
    print_ok({{"op", "batch"}, {"records", batch_lines.size()}, {"offset", *r}},
             fmt::format("OK {} records", batch_lines.size()));
  } else if (cas->parsed() || del_if->parsed() || setnx->parsed()) {
    const std::string op = cas->parsed() ? "cas" : del_if->parsed() ? "del-if" : "setnx";
    auto r = cas->parsed()      ? client.PutIf(key, value, expected_version, call)
             : del_if->parsed() ? client.DeleteIf(key, expected_version, call)
                                : client.PutIfAbsent(key, value, call);
    if (r) {
      print_ok({{"op", op}, {"key", enc(key)}, {"offset", *r}}, "OK");
    } else if (r.error().code() != ErrorCode::kConflict) {
      return Fail(r.error(), op, f);
    } else {
      // This client's applier has passed the record that failed: its local
      // state is at least as new as the one the condition met.
      std::cerr << "kvctl: " << op << ": " << r.error().message() << "\n";
      // Read from the entry itself: gcc 12 at -O2 took a copy into a
      // std::optional<Version> for maybe-uninitialized inside nlohmann/json.
      auto now = client.GetEntry(key);
      if (f.json) {
        std::cout << Dump({{"op", op}, {"key", enc(key)}, {"ok", false}, {"conflict", true},
                           {"version", now ? json(now->version) : json(nullptr)}})
                  << "\n";
      } else {
        std::cout << "CONFLICT " << (now ? fmt::format("version {}", now->version) : std::string("absent")) << "\n";
      }
      rc = kExitConflict;
    }
  } else if (txn->parsed()) {
    kv::Txn t = client.Transaction();
    for (const kvctl::TxnCompare& c : txn_spec.compares) {
      switch (c.kind) {
        case kvctl::TxnCompare::Kind::kVersion: t.If(kv::Condition::VersionIs(c.key, c.version)); break;
        case kvctl::TxnCompare::Kind::kAbsent: t.If(kv::Condition::Absent(c.key)); break;
        case kvctl::TxnCompare::Kind::kPresent: t.If(kv::Condition::Present(c.key)); break;
      }
    }
    for (const kvctl::TxnWrite& w : txn_spec.then_writes) w.value ? t.Put(w.key, *w.value) : t.Delete(w.key);
    for (const kvctl::TxnWrite& w : txn_spec.else_writes) w.value ? t.ElsePut(w.key, *w.value) : t.ElseDelete(w.key);
    auto r = t.Commit(call);
    if (!r) return Fail(r.error(), "txn", f);
    // The compared keys' versions now, after the transaction: on FAILURE
    // they say which compare did not hold (unless its failure writes moved
    // them).
    json versions = json::array();
    std::string plain = r->succeeded ? "SUCCESS" : "FAILURE";
    for (const kvctl::TxnCompare& c : txn_spec.compares) {
      auto now = client.GetEntry(c.key);
      versions.push_back({{"key", enc(c.key)}, {"version", now ? json(now->version) : json(nullptr)}});
      if (!r->succeeded) plain += "\n" + enc(c.key) + "\t" + (now ? fmt::format("{}", now->version) : "absent");
    }
    if (f.json) {
      std::cout << Dump({{"op", "txn"}, {"ok", r->succeeded}, {"succeeded", r->succeeded}, {"offset", r->offset},
                         {"versions", versions}})
                << "\n";
    } else {
      std::cout << plain << "\n";
    }
    if (!r->succeeded) rc = kExitConflict;
  } else if (stats->parsed()) {
    auto r = client.Stats({.end_offset = true, .timeout = remaining()});
    if (!r) return Fail(r.error(), "stats", f);
    if (f.prometheus) {
      std::cout << kv::PrometheusText(*r);
    } else {
      const std::vector<std::pair<std::string, int64_t>> figures = {
          {"applied_position", r->applied_position},
          {"end_offset", r->end_offset.value_or(-1)},
          {"lag_records", r->lag_records.value_or(-1)},
          {"records_applied", static_cast<int64_t>(r->records_applied)},
          {"bytes_applied", static_cast<int64_t>(r->bytes_applied)},
          {"sets_applied", static_cast<int64_t>(r->sets_applied)},
          {"deletes_applied", static_cast<int64_t>(r->deletes_applied)},
          {"keys", static_cast<int64_t>(r->keys)},
          {"corrupt_records", static_cast<int64_t>(r->corrupt_records)},
          {"reader_data_loss", static_cast<int64_t>(r->reader_data_loss)},
          {"watch_history_events", static_cast<int64_t>(r->watch_history_events)},
          {"watch_oldest_start", r->oldest_watch_start},
      };
      if (f.json) {
        json j;
        for (const auto& [name, value] : figures) j[name] = value;
        std::cout << Dump(j) << "\n";
      } else {
        for (const auto& [name, value] : figures) std::cout << name << "\t" << value << "\n";
      }
    }
  }
  std::cout.flush();
  watchdog.SetExitCode(rc);
  watchdog.SetPhase("closing");
  client.Close();
  return rc;
}
